import sys

from patchmerge.cli import main

sys.exit(main())
