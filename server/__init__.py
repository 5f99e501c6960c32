"""The jiaohao hub: queue engine, store, HTTP API and Socket.IO."""

__version__ = "0.1.0"
