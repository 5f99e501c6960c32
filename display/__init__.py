"""The TV board (issue #4): `jiaohao display`. LED counter signs are not built yet."""
