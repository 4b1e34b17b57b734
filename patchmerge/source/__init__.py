"""The source model patchmerge reads, shared by resolution, collection, plan and fusion: the tree's modules and
files (`tree`), each module's top-level bindings, imports, classes and captures read with `ast` and cached by
content hash (`index`, `cache`, `captures`), how a file's module is named and a relative import made absolute
(`modules`), and which names a statement binds (`bindings`). A leaf: it imports nothing of the engines."""
