from wxarchive.cli import run

run()
