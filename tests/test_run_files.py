"""What every run leaves in its folder: config.json, log.jsonl, checkpoints that load with `weights_only=True`,
files with the user's permissions, a lock against a second live run, no temporary files after a kill, and
a model.pt that rebuilds its network."""
import json, os, signal, stat, subprocess, sys, time
from pathlib import Path
import pytest, torch
from torch.utils.data import DataLoader, TensorDataset
from nas_lt.cli import main
from nas_lt.core import load_json
from nas_lt.data import make_synthetic, BatchLoader
from nas_lt.learner import Learner, load_model
import nas_lt

ENV = {**os.environ, 'NAS_LT_PROGRESS': '0', 'OMP_NUM_THREADS': '1'}
TINY = ['--n-train', '16', '--n-test', '4', '--size', '16', '--batch-size', '16', '--no-progress']


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    "One run of every kind of command that writes a folder"
    d = tmp_path_factory.mktemp('runs')
    space = '{"width": 0.25, "depths": [1, 1, 1, 1], "strides": [2, 2, 2, 1], "last": 0}'
    cmds = {'train': ['train', '--model', 'resnet20', '--epochs', '1', '--imb-ratio', '4'],
            'supernet': ['supernet', 'train', '--epochs', '1', '--space-kw', space],
            'adapt': ['supernet', 'adapt', str(d/'supernet'/'supernet.pt'), '--imb-ratio', '4', '--epochs', '2', '--eval-archs', '1', '--strategy', 'p2'],
            'search': ['supernet', 'search', str(d/'adapt'/'supernet.pt'), '--imb-ratio', '4', '--population', '2', '--generations', '1',
                       '--n-cross', '1', '--n-mut', '1', '--topk', '1', '--n-bn', '1'],
            'darts': ['darts', 'search', '--epochs', '1', '--imb-ratio', '4', '--channels', '2', '--layers', '3']}
    for name, argv in cmds.items(): assert main([*argv, *TINY, '--out', str(d/name)]) == 0, name
    return d


def test_every_run_writes_config_and_log(runs):
    for name in ('train', 'supernet', 'adapt', 'search', 'darts'):
        c = load_json(runs/name/'config.json')
        assert c['run']['command'].startswith('nas-lt ') and c['settings']['seed'] == 0 and c['run']['torch'] == torch.__version__, name
        assert c['run']['nas_lt'] == nas_lt.__version__
    for name in ('train', 'supernet', 'adapt', 'darts'):   # the runs that train epochs log them
        log = [json.loads(l) for l in (runs/name/'log.jsonl').read_text().splitlines()]
        assert log and log[0]['epoch'] == 1 and 'train_loss' in log[0], name


def test_every_checkpoint_loads_with_weights_only(runs):
    pts = sorted(runs.rglob('*.pt'))
    assert {p.name for p in pts} >= {'ckpt.pt', 'model.pt', 'supernet.pt', 'search_ckpt.pt'}
    for p in pts: torch.load(p, weights_only=True)                    # raises on any pickled object


def test_files_have_the_users_permissions(runs):
    um = os.umask(0); os.umask(um)
    for p in runs.rglob('*'):
        if p.is_file() and p.name != '.lock':
            assert stat.S_IMODE(p.stat().st_mode) == 0o666 & ~um, (p, oct(p.stat().st_mode))


def test_model_pt_rebuilds_its_network(runs):
    m = load_model(runs/'train'/'model.pt')
    assert type(m).__name__ == 'ResNetCifar' and len(m.stages[0]) == 3          # ResNet-20, not the default depth
    sd = torch.load(runs/'train'/'model.pt', weights_only=True)['model']
    assert all(torch.equal(a, sd[k]) for k, a in m.state_dict().items())
    assert nas_lt.load_model is load_model
    x = torch.randn(2, 3, 16, 16)
    m.eval(); assert m(x).shape == (2, 10)


def test_plain_dataloader_with_counts(tmp_path):
    tr, te = make_synthetic(4, 20, 5, 16)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(8, 4))
    dl = DataLoader(TensorDataset(tr.x.float() / 255, tr.y), batch_size=16, shuffle=True)
    learn = Learner(net, dl, DataLoader(TensorDataset(te.x.float() / 255, te.y), batch_size=20), loss_fn='drw', counts=tr.counts,
                    epochs=2, out=tmp_path, progress=False)
    h = learn.fit()
    assert len(h) == 2 and h[-1]['few_shot'] is None and learn.metrics['shot_groups'].startswith('absolute')   # 20 images: medium-shot
    assert (tmp_path/'log.jsonl').exists() and load_json(tmp_path/'config.json')['kind'] == 'dict'


def test_tensorboard_logger(tmp_path):
    pytest.importorskip('tensorboard')
    assert main(['train', '--model', 'resnet20', '--epochs', '1', '--logger', 'tensorboard', *TINY, '--out', str(tmp_path)]) == 0
    assert list((tmp_path/'tb').glob('events.out.tfevents.*'))


def _train_argv(out, epochs=30):
    return [sys.executable, '-m', 'nas_lt.cli', 'train', '--model', 'resnet20', '--epochs', str(epochs), '--n-train', '64',
            '--size', '16', '--batch-size', '16', '--out', str(out)]


def test_second_live_run_on_the_same_folder_is_refused(tmp_path):
    p = subprocess.Popen(_train_argv(tmp_path/'run'), env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        t0 = time.time()
        while not (tmp_path/'run'/'.lock').exists() and time.time() - t0 < 120: time.sleep(0.05)
        time.sleep(0.5)
        r = subprocess.run(_train_argv(tmp_path/'run'), env=ENV, capture_output=True, text=True)
        assert r.returncode == 2 and 'another run is writing to' in r.stderr and r.stderr.count('\n') == 1, r.stderr
    finally: p.kill(); p.wait()


def test_kill_leaves_no_temporary_files_behind(tmp_path):
    "A run killed while it writes leaves .*.tmp files; the next run in the folder removes them, and says it resumes"
    out = tmp_path/'run'; out.mkdir()
    (out/'.ckpt.pt.x1y2z3.tmp').write_bytes(b'half a checkpoint')      # what a kill during a checkpoint write leaves
    p = subprocess.Popen(_train_argv(out, 3), env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t0 = time.time()
    while not (out/'ckpt.pt').exists() and time.time() - t0 < 120: time.sleep(0.05)
    p.send_signal(signal.SIGKILL); p.wait()
    r = subprocess.run(_train_argv(out, 3) + ['--resume'], env={**ENV, 'NAS_LT_PROGRESS': '1'}, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    assert not list(out.glob('.*.tmp'))
    assert 'resuming from epoch' in r.stdout and 'of 3' in r.stdout
