"""The TV board and LED signs (issue #4): not built yet; `jiaohao display` says so."""
