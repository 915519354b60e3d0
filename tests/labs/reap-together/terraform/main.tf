variable "labrun_session" {
  type = string
}

resource "terraform_data" "barrier" {
  input = var.labrun_session

  provisioner "local-exec" {
    when        = destroy
    interpreter = ["python3", "-c"]
    command     = <<-PY
      import os, pathlib, sqlite3, time
      session = "${self.input}"
      folder = pathlib.Path(os.environ["REAP_BARRIER"])
      db = sqlite3.connect(pathlib.Path(os.environ["LABRUN_HOME"]) / "sessions.db", timeout=30)
      holder = db.execute("SELECT holder_pid FROM sessions WHERE id = ?", (session,)).fetchone()[0]
      (folder / session).write_text("")
      others = lambda: [p for p in folder.iterdir() if p.suffix != ".seen" and p.name != session]
      deadline = time.monotonic() + 60
      while time.monotonic() < deadline and not others():
          time.sleep(0.1)
      (folder / f"{session}.seen").write_text(f"{'together' if others() else 'alone'} {holder}")
    PY
  }
}
