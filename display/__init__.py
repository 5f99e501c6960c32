"""The TV board (`jiaohao display`) and the LED counter signs (`jiaohao signs`), issue #4."""
