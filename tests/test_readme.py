"README.md is generated from nbs/index.ipynb and starts with the two setup commands."
import subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

def test_readme_matches_index():
    r = subprocess.run([sys.executable, str(ROOT/'.ci'/'make_readme.py'), '--check'], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr

def test_readme_starts_with_the_two_commands():
    text = (ROOT/'README.md').read_text()
    first_block = text.split('```sh', 1)[1].split('```', 1)[0]
    lines = [l.split('#')[0].strip() for l in first_block.strip().splitlines()]
    assert lines[0] == 'pip install -e ".[dev]" && nas-lt demo'
    assert lines[1] == 'pytest'
    assert text.index('```sh') < text.index('## ')  # before any section
