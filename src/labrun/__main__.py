from labrun.cli import main

raise SystemExit(main())
