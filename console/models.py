# The console keeps no tables of its own. This module exists so that Django sends ``post_migrate`` for this
# app (it skips apps without one), after every other app's permissions exist: see ``apps.py``.
