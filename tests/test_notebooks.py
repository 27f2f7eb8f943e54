"Every notebook in nbs/ is executed as `nbdev_test` does, with `slow` and `notest` cells skipped."
import os, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
NBS = sorted(p for p in (ROOT/'nbs').rglob('*.ipynb') if '.ipynb_checkpoints' not in p.parts and not p.name.startswith('.'))

RUN = """
import sys; from pathlib import Path
from nbdev.test import test_nb
ok, secs = test_nb(Path(sys.argv[1]), skip_flags=['slow', 'notest'])
print(f'{secs:.1f}s')
sys.exit(0 if ok else 1)
"""

def test_found_notebooks():
    assert len(NBS) >= 5, NBS

@pytest.mark.parametrize('nb', NBS, ids=[str(p.relative_to(ROOT/'nbs')) for p in NBS])
def test_notebook(nb):
    env = {**os.environ, 'NAS_LT_PROGRESS': '0', 'OMP_NUM_THREADS': '1', 'PYTHONWARNINGS': 'ignore'}
    r = subprocess.run([sys.executable, '-c', RUN, str(nb)], capture_output=True, text=True, env=env, cwd=nb.parent, timeout=900)
    assert r.returncode == 0, f'{nb.name} failed:\n{r.stdout[-3000:]}\n{r.stderr[-6000:]}'
