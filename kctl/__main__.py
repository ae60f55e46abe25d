from kctl.cli.app import main

main()
