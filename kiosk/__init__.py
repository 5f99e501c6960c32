"""The ticket kiosk (issue #3): not built yet; `jiaohao kiosk` says so."""
