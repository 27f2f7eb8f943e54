import os, sys, subprocess, json, textwrap
os.environ.setdefault('NAS_LT_PROGRESS', '0')
import pytest, torch
from pathlib import Path
from nas_lt.core import LTError, load_json, load_checkpoint
from nas_lt.learner import Callback
from nas_lt.data import get_data
from nas_lt.darts import load_genotype
from nas_lt.darts_bbn import DartsBBN, darts_search, arch_schedule, SearchLoss, ARCH_STEPS

# 10 classes, 8x8 images, 3 cells of 2 channels: a search epoch is 2 steps; enough to test the machinery, not to learn
TINY = dict(data='synthetic', imb_ratio=4., n_train=8, n_test=2, size=8, channels=2, layers=3, batch_size=8, epochs=1, progress=False)


def test_darts_bbn_shares_alphas_and_mixes():
    torch.manual_seed(0)
    m = DartsBBN(C=4, n_classes=5, layers=4, n_branch=1)
    ids = {id(p) for p in m.weights()}
    assert all(id(a) not in ids for a in m.alphas()) and len(m.weights()) + 2 == len(list(m.parameters()))
    assert len(m.trunk) == 3 and len(m.branch_c) == len(m.branch_r) == 1
    x, xr = torch.randn(4, 3, 16, 16), torch.randn(4, 3, 16, 16)
    m.eval()
    assert torch.allclose(m(x), m(x, x, 0.5), atol=1e-5)
    m.train()
    m(x, xr, 0.7).sum().backward()
    assert m.alphas_normal.grad is not None and m.alphas_normal.grad.abs().sum() > 0
    with pytest.raises(LTError, match='n_branch'): DartsBBN(C=4, layers=4, n_branch=4)


def test_search_loss_dispatch():
    m = DartsBBN(C=4, n_classes=3, layers=3)
    loss = SearchLoss(torch.nn.CrossEntropyLoss()); loss.alpha = 0.25
    x, y = torch.randn(2, 3, 8, 8), torch.tensor([0, 2])
    m.eval()
    z = m(x, x, 0.25)
    expect = 0.25 * torch.nn.functional.cross_entropy(z, y) + 0.75 * torch.nn.functional.cross_entropy(z, y.flip(0))
    assert torch.allclose(loss(m, (x, x), (y, y.flip(0))), expect, atol=1e-6)
    assert torch.allclose(loss(m, x, y), torch.nn.functional.cross_entropy(m(x), y), atol=1e-6)


def test_arch_schedules():
    s = arch_schedule('mix_coupled', 'linear')
    assert [s(e, 4) for e in range(4)] == pytest.approx([1, .75, .5, .25])
    assert arch_schedule('freeze')(3, 4) == 0
    with pytest.raises(LTError, match="unknown schedule"): arch_schedule('nope')


@pytest.mark.parametrize('mode', ['plain', 'resample', 'reweight', 'bbn'])
def test_search_modes_write_results(tmp_path, mode):
    res = darts_search(mode=mode, out=tmp_path, arch_lr_schedule='mix_coupled' if mode == 'bbn' else 'constant', **TINY)
    g = load_genotype(tmp_path / 'genotype.json')
    assert len(g.normal) == 8 and all(op != 'none' for op, _ in g.normal)
    m = load_json(tmp_path / 'metrics.json')
    for k in ('accuracy', 'balanced_accuracy', 'many_shot', 'medium_shot', 'few_shot'): assert k in m['search_accuracy']
    assert len(m['history']) == 1 and len(m['alpha_history']) == 2
    assert m['history'][0]['mix_alpha'] == (1.0 if mode == 'bbn' else None)
    assert (tmp_path / 'ckpt.pt').exists()
    # alpha moved away from its initial value
    a0, a1 = torch.tensor(m['alpha_history'][0]['normal']), torch.tensor(m['alpha_history'][-1]['normal'])
    assert not torch.allclose(a0, a1)


def test_arch_steps_and_second_order(tmp_path):
    for step in ARCH_STEPS:
        r = darts_search(mode='bbn', arch_step=step, out=tmp_path / step, **TINY)
        assert r['settings']['arch_step'] == step
    r = darts_search(mode='bbn', order=2, arch_step='bbn', out=tmp_path / 'o2', **TINY)
    assert r['settings']['order'] == 2


def test_freeze_stops_alpha(tmp_path):
    r = darts_search(mode='bbn', arch_lr_schedule='freeze', out=tmp_path, **dict(TINY, epochs=2))
    ah = r['alpha_history']  # freeze at 0.5: epoch 1 has arch lr 0
    assert [h['arch_lr'] for h in r['history']] == [3e-4, 0.]
    assert ah[0]['normal'] != ah[1]['normal'] and ah[1]['normal'] == ah[2]['normal']


class _Stop(Callback):
    "Simulates a crash at the start of epoch `at`"
    def __init__(self, at=None): self.at = at
    def before_epoch(self, learn):
        if learn.epoch == self.at: raise KeyboardInterrupt


def test_resume_exact_and_flag_check(tmp_path):
    full = darts_search(mode='bbn', out=tmp_path / 'full', cbs=[_Stop()], **dict(TINY, epochs=2))
    with pytest.raises(KeyboardInterrupt): darts_search(mode='bbn', out=tmp_path / 'int', cbs=[_Stop(1)], **dict(TINY, epochs=2))
    assert load_checkpoint(tmp_path / 'int' / 'ckpt.pt')['epoch'] == 1
    res = darts_search(mode='bbn', out=tmp_path / 'int', resume=True, cbs=[_Stop()], **dict(TINY, epochs=2))
    ck_full, ck = load_checkpoint(tmp_path / 'full' / 'ckpt.pt'), load_checkpoint(tmp_path / 'int' / 'ckpt.pt')
    for k, v in ck_full['model'].items(): assert torch.equal(v, ck['model'][k]), k    # bit for bit
    assert res['genotype'] == full['genotype'] and len(res['history']) == 2 and res['alpha_history'] == full['alpha_history']
    with pytest.raises(LTError, match="cannot resume.*mix"):
        darts_search(mode='bbn', out=tmp_path / 'int', resume=True, cbs=[_Stop()], **dict(TINY, epochs=2, mix='linear'))
    with pytest.raises(LTError, match="cannot resume.*arch_lr=0.001"):
        darts_search(mode='bbn', out=tmp_path / 'int', resume=True, cbs=[_Stop()], **dict(TINY, epochs=2, arch_lr=1e-3))


def test_loss_and_sampler_reach_the_search(tmp_path):
    r = darts_search(mode='plain', loss='focal:gamma=2', sampler='sqrt', out=tmp_path, **TINY)
    c = load_json(tmp_path / 'config.json')
    assert c['settings']['loss'] == 'focal:gamma=2' and c['settings']['sampler'] == 'sqrt'
    assert "FocalLoss" in c['learner']['loss']
    r = darts_search(mode='plain', ops=('none', 'skip_connect', 'sep_conv_3x3'), out=tmp_path / 'ops', **TINY)
    assert {op for op, _ in r['genotype']['normal']} <= {'skip_connect', 'sep_conv_3x3'}
    assert len(r['alpha_history'][0]['normal'][0]) == 3


def test_user_search_mode(tmp_path):
    from nas_lt.darts_bbn import SEARCH_MODES, SearchMode
    SEARCH_MODES['sqrt_ldam'] = SearchMode('sqrt_ldam', 'square-root sampling and the LDAM loss', sampler='sqrt', loss='ldam')
    try:
        r = darts_search(mode='sqrt_ldam', out=tmp_path, **TINY)
        assert r['mode'] == 'sqrt_ldam' and 'LDAMLoss' in load_json(tmp_path / 'config.json')['learner']['loss']
    finally: del SEARCH_MODES['sqrt_ldam']


def test_bad_input(tmp_path):
    with pytest.raises(LTError, match="unknown search mode"): darts_search(mode='bbn2', out=tmp_path, **TINY)
    with pytest.raises(LTError, match="unknown --order 3"): darts_search(order=3, out=tmp_path, **TINY)
    with pytest.raises(LTError, match="unknown schedule"): darts_search(arch_lr_schedule='zigzag', out=tmp_path, **TINY)
    with pytest.raises(LTError, match="unknown mix"): darts_search(mix='beta', out=tmp_path, **TINY)
    with pytest.raises(LTError, match="unknown architecture step"): darts_search(arch_step='val', out=tmp_path, **TINY)
    with pytest.raises(LTError, match="--epochs must be >= 1"): darts_search(out=tmp_path, **dict(TINY, epochs=0))
    with pytest.raises(LTError, match="--arch-lr must be >= 0"): darts_search(arch_lr=-3e-4, out=tmp_path, **TINY)


def test_torchrun_two_processes_same_genotype(tmp_path):
    script = tmp_path / 'run.py'
    script.write_text(textwrap.dedent(f'''
        import os, torch, json
        os.environ['NAS_LT_PROGRESS'] = '0'
        from nas_lt.darts_bbn import darts_search
        import torch.distributed as dist
        r = darts_search(mode='bbn', out={str(tmp_path / 'out')!r}, data='synthetic', imb_ratio=4., n_train=8, n_test=2,
                         size=8, channels=2, layers=3, batch_size=4, epochs=1, progress=False)
        rk = dist.get_rank()
        json.dump(dict(genotype=r['genotype'], alpha=r['alpha_history'][-1], ws=r['world_size'], acc=r['search_accuracy']['accuracy']),
                  open({str(tmp_path)!r} + f'/rank{{rk}}.json', 'w'))
        dist.destroy_process_group()
    '''))
    env = dict(os.environ, OMP_NUM_THREADS='1', NAS_LT_PROGRESS='0')
    p = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2', '--master_port=29533', str(script)],
                       env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    r0, r1 = (json.load(open(tmp_path / f'rank{i}.json')) for i in (0, 1))
    assert r0['ws'] == r1['ws'] == 2
    assert r0['alpha'] == r1['alpha'] and r0['genotype'] == r1['genotype'] and r0['acc'] == r1['acc']
    assert (tmp_path / 'out' / 'genotype.json').exists()
