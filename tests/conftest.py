import os, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault('NAS_LT_PROGRESS', '0')
# Tests must stay fast on 2 CPU cores: one torch thread per process, also in subprocesses.
os.environ.setdefault('OMP_NUM_THREADS', '1')
try:
    import torch
    torch.set_num_threads(1)
except ImportError: pass

# With pytest-xdist, whole test files go to one worker (`--dist loadfile`: module fixtures are built once), except
# the notebooks: each notebook of tests/test_notebooks.py is its own unit, so that the two cores share them.
import pytest

@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    if config.getvalue('dist') != 'loadfile': return None
    from xdist.scheduler import LoadFileScheduling
    class NotebookSplitScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid):
            return nodeid if nodeid.startswith('tests/test_notebooks.py::test_notebook[') else super()._split_scope(nodeid)
    return NotebookSplitScheduling(config, log)
