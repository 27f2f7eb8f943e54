"Learner: training lowers the loss, seeds repeat runs, a killed run resumes to identical weights, bad input -> LTError"
import os, sys, signal, subprocess, time, textwrap
from pathlib import Path
import pytest, torch, torch.nn as nn
from nas_lt.core import LTError, set_seed
from nas_lt.learner import Learner, Callback, CancelBatch, CancelFit, load_model

ROOT = Path(__file__).resolve().parent.parent

# A tiny run: 4 classes x 12-16 images of 8x8, a 2-layer CNN with dropout, augmentation on: one epoch is milliseconds.
COMMON = textwrap.dedent('''
    import torch, torch.nn as nn
    from nas_lt.core import set_seed
    from nas_lt.data import make_synthetic, long_tailed, BatchLoader
    def data(bs=16, augment=True):
        tr, te = make_synthetic(n_classes=4, n_train=20, n_test=10, size=8, seed=0)
        tr = long_tailed(tr, 2.)
        return BatchLoader(tr, bs, sampler='instance', augment=augment), BatchLoader(te, 20, sampler=None)
    def model(seed=0, width=8):
        set_seed(seed)
        return nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(), nn.Dropout(0.2),
                             nn.Conv2d(width, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(),
                             nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, 4))
''')
exec(COMMON)

def weights(m): return {k: v.detach().clone() for k, v in m.state_dict().items()}
def same(a, b): return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)

def test_training_lowers_loss_and_reports_lt_metrics(tmp_path):
    tr, te = data(augment=False)
    learn = Learner(model(), tr, te, loss_fn='ce', lr=0.2, epochs=6, schedule='constant', out=tmp_path)
    h = learn.fit()
    assert len(h) == 6 and h[-1]['train_loss'] < 0.85 * h[0]['train_loss']
    for k in ('accuracy', 'balanced_accuracy', 'per_class_accuracy', 'many_shot', 'medium_shot', 'few_shot', 'lr', 'time'):
        assert k in h[-1]
    assert learn.metrics['accuracy'] == h[-1]['accuracy'] and len(learn.metrics['per_class_accuracy']) == 4
    p, t = learn.get_preds()
    assert len(p) == len(t) == 40 and learn.metrics['accuracy'] == pytest.approx((p == t).float().mean().item())
    assert (tmp_path / 'ckpt.pt').is_file()
    m = learn.save_metrics(extra={'loss': 'ce'})
    import json; js = json.loads(m.read_text())
    assert js['loss'] == 'ce' and js['accuracy'] == learn.metrics['accuracy'] and len(js['history']) == 6
    learn.save_model(tmp_path / 'model.pt')
    m2 = load_model(tmp_path / 'model.pt', model(seed=1))
    assert same(weights(m2), weights(learn.model))
    with pytest.raises(LTError, match='do not fit'): load_model(tmp_path / 'model.pt', model(width=4))

def test_lr_follows_the_schedule_per_step():
    tr, _ = data()
    seen = []
    class Rec(Callback):
        def before_step(self, learn): seen.append((learn.epoch, learn.iter, learn.opt.param_groups[0]['lr']))
    learn = Learner(model(), tr, loss_fn=nn.CrossEntropyLoss(), lr=0.2, epochs=2, schedule='linear', cbs=[Rec()])
    learn.fit()
    n = len(tr)
    assert len(seen) == 2 * n
    for e, i, lr in seen: assert lr == pytest.approx(0.2 * (1 - (e + i / n) / 2))

def test_same_seed_same_weights_different_seed_different():
    def run(seed):
        tr, te = data()
        learn = Learner(model(), tr, te, epochs=2, seed=seed)
        learn.fit(); return weights(learn.model)
    a, b, c = run(0), run(0), run(1)
    assert same(a, b) and not same(a, c)

def test_callbacks_can_swap_skip_and_stop():
    tr, _ = data()
    class Swap(Callback):
        order = 1
        def before_batch(self, learn):
            x, y = learn.batch
            learn.batch = (x, torch.zeros_like(y))  # train everything towards class 0
    class Skip(Callback):
        order = 0
        def __init__(self): self.n = 0
        def before_batch(self, learn):
            if learn.iter == 0: raise CancelBatch
        def after_batch(self, learn): self.n += 1
    class Stop(Callback):
        def after_validate(self, learn):   # the epoch's record is complete but not yet in the history
            learn.record['extra'] = 42
            if learn.epoch == 1: raise CancelFit
    skip = Skip()
    learn = Learner(model(), tr, loss_fn=nn.CrossEntropyLoss(), lr=0.05, epochs=5, cbs=[Swap(), skip, Stop()])
    learn.fit()
    assert skip.n == 2 * (len(tr) - 1)          # first batch of each epoch skipped, stopped after epoch 2
    assert len(learn.history) == 1 and learn.history[0]['extra'] == 42  # the cancelled epoch is not recorded
    p, _ = learn.get_preds(data()[1])
    assert (p == 0).float().mean() > 0.9

def test_train_step_override():
    tr, _ = data()
    class Mine(Learner):
        def train_step(self, batch):
            x, y = batch
            return nn.functional.cross_entropy(self.model(x), y, label_smoothing=0.1) * 0 + 1.5 + 0 * self.model(x).sum()
    learn = Mine(model(), tr, loss_fn=nn.CrossEntropyLoss(), epochs=1)
    assert learn.fit()[0]['train_loss'] == pytest.approx(1.5)

@pytest.mark.parametrize('kw,msg', [
    (dict(epochs=0), 'epochs must be a positive integer'),
    (dict(epochs=-3), 'epochs must be a positive integer'),
    (dict(epochs=2.5), 'epochs must be a positive integer'),
    (dict(loss_fn='nope'), "unknown loss 'nope'"),
    (dict(schedule='nope'), "unknown schedule 'nope'"),
    (dict(lr=-1), 'lr must be'),
    (dict(amp=True), 'needs a CUDA device'),
    (dict(opt='rmsprop'), 'unknown optimiser'),
    (dict(cbs=[object()]), 'Callback instances'),
])
def test_bad_settings(kw, msg):
    tr, te = data()
    with pytest.raises(LTError, match=msg):
        Learner(model(), tr, te, **kw).fit()

def test_fit_epochs_zero_and_resume_without_out():
    tr, _ = data()
    learn = Learner(model(), tr, epochs=1)
    with pytest.raises(LTError, match='epochs must be a positive integer'): learn.fit(epochs=0)
    with pytest.raises(LTError, match='needs out='): learn.fit(resume=True)

def test_damaged_checkpoint(tmp_path):
    tr, _ = data()
    (tmp_path / 'ckpt.pt').write_bytes(b'\x80\x02garbage')
    with pytest.raises(LTError, match='damaged'): Learner(model(), tr, epochs=1, out=tmp_path).fit(resume=True)
    torch.save({'foo': 1}, tmp_path / 'ckpt.pt')
    with pytest.raises(LTError, match='not a nas_lt Learner checkpoint'): Learner(model(), tr, epochs=1, out=tmp_path).fit(resume=True)

def test_resume_with_different_settings(tmp_path):
    tr, _ = data()
    Learner(model(), tr, epochs=2, out=tmp_path).fit()
    with pytest.raises(LTError, match=r'epochs=2 in the checkpoint, 3 now'):
        Learner(model(), tr, epochs=3, out=tmp_path).fit(resume=True)
    with pytest.raises(LTError, match='loss='):
        Learner(model(), tr, epochs=2, loss_fn='cb', out=tmp_path).fit(resume=True)
    with pytest.raises(LTError, match=r'model shape differs \(0.weight: \[8, 3, 3, 3\] in the checkpoint, \[6, 3, 3, 3\] now\)'):
        Learner(model(width=6), tr, epochs=2, out=tmp_path).fit(resume=True)
    done = Learner(model(seed=5), tr, epochs=2, out=tmp_path)
    assert len(done.fit(resume=True)) == 2  # already finished: loads, trains nothing

RUN = COMMON + textwrap.dedent('''
    import sys, time
    from pathlib import Path
    from nas_lt.learner import Learner, Callback
    out, epochs, hang_epoch, resume = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == '1'
    class Hang(Callback):
        "Stops in the middle of epoch `hang_epoch`, after the checkpoint of the previous epoch, until killed"
        def __init__(self): self.n = 0
        def after_batch(self, learn):
            self.n += 1
            if learn.epoch == hang_epoch and learn.iter == 1:
                (out / 'hanging').write_text(str(learn.epoch)); time.sleep(600)
        def state_dict(self): return {'n': self.n}
        def load_state_dict(self, s): self.n = s['n']
    tr, te = data()
    hang = Hang()
    learn = Learner(model(), tr, te, loss_fn='drw', lr=0.05, schedule='warmup_cosine', epochs=epochs, out=out, cbs=[hang])
    learn.fit(resume=resume)
    learn.save_model(out / 'final.pt')
    torch.save({'n': hang.n, 'history': learn.history}, out / 'extra.pt')
''')

def _run(script, *args, **kw):
    env = dict(os.environ, OMP_NUM_THREADS='1', NAS_LT_PROGRESS='0')
    return subprocess.Popen([sys.executable, str(script), *map(str, args)], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kw)

def test_killed_run_resumes_to_identical_weights(tmp_path):
    script = tmp_path / 'run.py'; script.write_text(RUN)
    full, cut = tmp_path / 'full', tmp_path / 'cut'
    ref = _run(script, full, 4, -1, 0)                # uninterrupted, in parallel with the killed one
    p = _run(script, cut, 4, 2, 0)                    # hangs in epoch 3 (0-based 2), after ckpt of epoch 2
    t0 = time.time()
    while not (cut / 'hanging').exists():
        assert p.poll() is None, p.stdout.read().decode()[-2000:]
        assert time.time() - t0 < 120, 'run did not reach epoch 3'
        time.sleep(0.05)
    p.send_signal(signal.SIGKILL); p.wait()
    assert p.returncode == -signal.SIGKILL and not (cut / 'final.pt').exists()
    assert torch.load(cut / 'ckpt.pt', weights_only=False)['epoch'] == 2
    r = _run(script, cut, 4, -1, 1)
    assert r.wait(120) == 0, r.stdout.read().decode()[-2000:]
    assert ref.wait(120) == 0, ref.stdout.read().decode()[-2000:]
    a, b = torch.load(full / 'final.pt')['model'], torch.load(cut / 'final.pt')['model']
    assert same(a, b)
    ea, eb = torch.load(full / 'extra.pt', weights_only=False), torch.load(cut / 'extra.pt', weights_only=False)
    assert ea['n'] == eb['n']  # callback state restored too
    strip = lambda h: [{k: v for k, v in r.items() if k != 'time'} for r in h]
    assert strip(ea['history']) == strip(eb['history'])

def test_loss_set_epoch_called_every_epoch():
    tr, _ = data()
    calls = []
    class L(nn.CrossEntropyLoss):
        def set_epoch(self, epoch, n_epochs): calls.append((epoch, n_epochs))
    Learner(model(), tr, loss_fn=L(), epochs=3).fit()
    assert calls == [(0, 3), (1, 3), (2, 3)]

def test_cpu_defaults():
    tr, _ = data()
    learn = Learner(model(), tr, epochs=1)
    assert learn.device.type == ('cuda' if torch.cuda.is_available() else 'cpu')
    assert learn.amp == (learn.device.type == 'cuda')
    assert learn.model[0].weight.is_contiguous(memory_format=torch.channels_last)
    learn.fit()
    assert isinstance(learn.opt, torch.optim.SGD) and learn.opt.defaults['nesterov'] and learn.opt.defaults['weight_decay'] == 5e-4
