import sys

from gxapp.cli import main

sys.exit(main())
