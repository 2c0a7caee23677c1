from memo_desktop.cli import main

raise SystemExit(main())
