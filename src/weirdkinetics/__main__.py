from weirdkinetics.cli import main

raise SystemExit(main())
