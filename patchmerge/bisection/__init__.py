"""`bisect`: find the patches whose fusion breaks the model run, in few runs."""
