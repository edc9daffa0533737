from vehiclust.cli import app

app(prog_name="vehiclust")
