MARKER = "marker-from-venv"
