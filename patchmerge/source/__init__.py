"""The source tree as patchmerge reads it, shared by resolution, collection, plan and fusion: how a file's module is
named, how a relative import is made absolute, and which names a top-level statement binds. A leaf: it imports
nothing of the engines."""
