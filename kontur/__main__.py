from kontur.cli import main

raise SystemExit(main())
