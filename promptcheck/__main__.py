from promptcheck.cli.main import main

main()
