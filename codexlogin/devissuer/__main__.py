import sys

from codexlogin.devissuer import main

sys.exit(main())
