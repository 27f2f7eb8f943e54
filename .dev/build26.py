import sys; sys.path.insert(0, '.dev')
from nb import build

C = []
md = lambda t: C.append(('markdown', t))
co = lambda t: C.append(('code', t))

md('''# The DARTS long-tail study

> Every way of meeting the long tail searched with several seeds, every genotype trained with several seeds, identically, then the accuracy per shot group with intervals, the paired difference to plain DARTS, and the convergence and collapse diagnostics of every search: `nas-lt darts study`.''')
co('#| default_exp darts_study')
co('''#| hide
from nbdev.showdoc import *
from fastcore.test import *''')
co('''#| export
from __future__ import annotations
import time
from dataclasses import dataclass, field
from pathlib import Path
import numpy as np
import torch
import plotly.graph_objects as go
from plotly.subplots import make_subplots
from nas_lt.core import LTError, Registry, save_json, write_report, html_table, md_table, get_device, is_main, run_folder
from nas_lt.config import DataConfig, RunConfig, arg, takes, write_config
from nas_lt.metrics import METRIC_KEYS
from nas_lt.stats import mean_ci, paired_diff
from nas_lt.data import BatchLoader
from nas_lt.losses import get_loss
from nas_lt.learner import Learner
from nas_lt.ops import DARTS_OPS
from nas_lt.darts import network_from_genotype
from nas_lt.pc_darts import SEARCH_NETWORKS
from nas_lt.darts_bbn import SEARCH_MODES, DartsSearchConfig, darts_search
from nas_lt.study import Units, run_parallel''')
md('''Tang (arXiv 2406.07028) makes two claims about DARTS (Liu et al., arXiv 1806.09055) on long-tailed data:

1. **Plain re-balancing hurts the search.** Re-sampling the classes or re-weighting the loss while DARTS searches gives worse genotypes than plain DARTS, because the re-balanced signal distorts the representation the architecture parameters are judged on.
2. **DARTS+BBN with a heterogeneous architecture learning rate works.** Using the search network as the trunk of a Bilateral-Branch Network (Zhou et al. 2020: a uniform and a reversed sampler mixed by a cumulative-learning weight α(T)) and letting the architecture parameters follow their own epoch-dependent schedule reaches plain DARTS's accuracy.

A single search per method cannot test either: DARTS's genotypes change with the seed (Yu et al., "Evaluating the Search Phase of Neural Architecture Search", arXiv 1902.08142, found DARTS no better than random search over seeds), and so does the training of a genotype. The study therefore searches every method with several seeds, trains each genotype with several seeds *with the same seeds for every method*, and compares methods by paired differences over the search seeds.

## The arms

An arm is a search mode (`SEARCH_MODES` of `nas_lt.darts_bbn`) plus the settings that distinguish it. The five of the paper are registered; any other registered search mode, including a user's own, is an arm under its own name.''')
co('''#| export
@dataclass(frozen=True)
class StudyArm:
    "One way of searching compared in the study: a search mode and the search settings that go with it"
    name:str                                # the arm's name in tables and --arms
    description:str                         # one line for tables
    mode:str                                # the search mode (SEARCH_MODES)
    kw:dict=field(default_factory=dict)     # further `darts_search` settings of this arm

STUDY_ARMS = Registry('study arm')
for _a in [StudyArm('plain', 'DARTS: uniform sampling, cross-entropy', 'plain'),
           StudyArm('resample', 'DARTS with class-balanced sampling', 'resample'),
           StudyArm('reweight', 'DARTS with class-balanced (effective-number) weighted cross-entropy', 'reweight'),
           StudyArm('bbn', 'DARTS+BBN, constant architecture LR', 'bbn', dict(arch_lr_schedule='constant')),
           StudyArm('bbn_hetero', 'DARTS+BBN, architecture LR coupled to the BBN mix (Tang 2024)', 'bbn',
                    dict(arch_lr_schedule='mix_coupled', mix='parabolic'))]:
    STUDY_ARMS[_a.name] = _a

def get_arm(name:str)->StudyArm:
    "The registered arm `name`, or an arm of the search mode `name` with that mode's defaults"
    if name in STUDY_ARMS: return STUDY_ARMS[name]
    if name in SEARCH_MODES: return StudyArm(name, SEARCH_MODES[name].description, name)
    raise LTError(f"unknown study arm {name!r}; choose among the arms ({', '.join(STUDY_ARMS)}) or the search modes ({', '.join(SEARCH_MODES)})")''')
co('''print(md_table([dict(arm=a.name, mode=a.mode, settings=str(a.kw or ''), description=a.description) for a in STUDY_ARMS.values()]))
test_eq(get_arm('bbn_hetero').kw['arch_lr_schedule'], 'mix_coupled')
test_fail(lambda: get_arm('bogus'), contains='choose among the arms')''')
md('''A mode registered later is an arm at once, with its own defaults:''')
co('''from nas_lt.darts_bbn import SearchMode
SEARCH_MODES['focal_demo'] = SearchMode('focal_demo', 'DARTS with the focal loss', loss='focal')
test_eq(get_arm('focal_demo').mode, 'focal_demo')
del SEARCH_MODES['focal_demo']''')
md('''## Training a genotype

A genotype is judged by its evaluation network trained from scratch. `train_genotype` builds it with `network_from_genotype` (no auxiliary head, no drop-path at this scale) and trains it on the long-tailed training set with cross-entropy plus deferred re-weighting (Cao et al. 2019) and a cosine schedule, the same recipe for every arm, then reports the long-tail metrics on the balanced test set. That recipe is `train_network`, which trains any network the same way (for a reference network on the same data).''')
co('''#| export
def train_network(m:torch.nn.Module,    # a network, freshly initialised
                  train, test,          # `LTData`: the long-tailed training set and the balanced test set
                  epochs:int=20,        # training epochs
                  lr:float=0.05,        # base learning rate (cosine)
                  batch_size:int=64,    # batch size
                  seed:int=0,           # seed of the batch order
                  device=None,
                 )->dict:
    "Train `m` with the study's recipe (CE + DRW, cosine, crop + flip) and return its test metrics and cost"
    c0, t0 = time.process_time(), time.perf_counter()
    learn = Learner(m, BatchLoader(train, batch_size, 'instance', augment=True, device=device, seed=seed),
                    loss_fn=get_loss('drw', train.counts), lr=lr, wd=3e-4, schedule='cosine', epochs=epochs,
                    device=device, seed=seed, progress=False, grad_clip=5.)
    learn.fit()
    r = learn.validate(BatchLoader(test, 256, None, device=device))
    return dict({k: r[k] for k in METRIC_KEYS}, cpu_s=time.process_time() - c0, wall_s=time.perf_counter() - t0)

def train_genotype(genotype,            # a genotype dict, `Genotype` or genotype.json
                   train, test,         # `LTData`: the long-tailed training set and the balanced test set
                   C:int=16,            # initial channels of the evaluation network
                   layers:int=5,        # its cells
                   epochs:int=20,       # training epochs
                   lr:float=0.05,       # base learning rate (cosine)
                   batch_size:int=64,   # batch size
                   seed:int=0,          # seed of initialisation and batch order
                   device=None,
                  )->dict:
    "Train the evaluation network of `genotype` from scratch (`train_network`) and return its test metrics and cost"
    torch.manual_seed(seed)
    m = network_from_genotype(genotype, train.n_classes, C=C, layers=layers, auxiliary=False, drop_path=0.)
    return train_network(m, train, test, epochs, lr, batch_size, seed, device)''')
co('''from nas_lt.data import make_synthetic, long_tailed
_tr, _te = make_synthetic(10, 30, 10, size=16, seed=0)
_tr = long_tailed(_tr, 10.)
_g = dict(normal=[['sep_conv_3x3', 0], ['sep_conv_3x3', 1]] * 4, normal_concat=[2, 3, 4, 5],
          reduce=[['max_pool_3x3', 0], ['max_pool_3x3', 1]] * 4, reduce_concat=[2, 3, 4, 5])
_r1 = train_genotype(_g, _tr, _te, C=4, layers=3, epochs=1)
_r2 = train_genotype(_g, _tr, _te, C=4, layers=3, epochs=1)
print(md_table([_r1]))   # no class has over 100 images here, so there is no many-shot group
test_eq({k: _r1[k] for k in METRIC_KEYS}, {k: _r2[k] for k in METRIC_KEYS})   # same seed, same numbers
torch.manual_seed(0)   # the same network trained by train_network: the same numbers
_r3 = train_network(network_from_genotype(_g, _tr.n_classes, C=4, layers=3, auxiliary=False, drop_path=0.), _tr, _te, epochs=1)
test_eq({k: _r3[k] for k in METRIC_KEYS}, {k: _r1[k] for k in METRIC_KEYS})''')
md('''## The configuration

`DartsStudyConfig` holds every setting; `nas-lt darts study` takes them as flags. The data are the long-tailed training set and its balanced test set (`data`, `imb_ratio` and the other data settings, as every command); each search splits the training set into a weight half and an architecture half as DARTS does.

The defaults are the CPU-scale study; the measurements behind the search settings (epochs, architecture learning rate, network size) are in `bench/results_darts_study.md`. DARTS's own settings (Adam 3e-4 for α over 50 epochs of CIFAR-10) leave α within a few thousandths of uniform after the hundred-odd steps a CPU search can afford, so the genotype would be decided by the initialisation; the preset raises the architecture learning rate so that the softmax leaves uniform within the budget, and the study reports how far it got (entropy, stable epoch) so that a reader can see whether it decided.''')
co('''#| export
@dataclass
class DartsStudyConfig(DataConfig, RunConfig):
    "Tang's DARTS long-tail experiments in one run: every arm searched with several seeds, every genotype trained with several seeds, paired tests against plain DARTS, convergence and collapse"
    imb_ratio:float=arg(100., lo=1)             # imbalance ratio of the training set
    size:int=arg(16, lo=8)                      # image height and width
    n_train:int|None=arg(250, lo=1)             # training images of the largest class (synthetic)
    arms:tuple=('plain', 'resample', 'reweight', 'bbn', 'bbn_hetero')  # arms compared (STUDY_ARMS or any SEARCH_MODES name)
    baseline:str='plain'                        # the arm every other one is compared with (paired over search seeds)
    seeds:int=arg(3, lo=1)                      # searches per arm (seeds seed, seed+1, ...; at least 2 for intervals)
    train_seeds:int=arg(2, lo=1)                # trainings per genotype, with the same seeds for every arm
    epochs:int=arg(10, lo=1)                    # search epochs
    channels:int=arg(8, lo=1)                   # initial channels of the search network
    layers:int=arg(5, lo=3)                     # cells of the search network
    batch_size:int=arg(32, lo=1)                # search batch size of each half
    arch_lr:float=arg(0.1, lo=0, lo_open=True)  # Adam learning rate of the architecture parameters (DARTS: 3e-4 over 50 CIFAR epochs)
    order:int=arg(1, choices=(1, 2))            # 1: first-order DARTS; 2: second order
    variant:str=arg('darts', choices=SEARCH_NETWORKS)  # search network: darts or pc_darts
    pc_k:int=arg(4, lo=1)                       # pc_darts: 1/k of each edge's channels are searched
    ops:tuple=tuple(DARTS_OPS)                  # candidate operations of every edge
    hessian_every:int=arg(5, lo=0)              # dominant Hessian eigenvalue w.r.t. alpha every N search epochs (0: never)
    hessian_iters:int=arg(10, lo=1)             # power iterations per eigenvalue
    train_channels:int=arg(16, lo=1)            # initial channels of the evaluation network of each genotype
    train_layers:int=arg(5, lo=3)               # its cells
    train_epochs:int=arg(20, lo=1)              # its training epochs
    train_lr:float=arg(0.05, lo=0, lo_open=True)  # its learning rate (cosine)
    train_batch:int=arg(64, lo=1)               # its batch size
    jobs:int=arg(1, lo=1)                       # searches (each with its trainings) run side by side in this many processes (1: in this one)
    quick:bool=False                            # the quick preset: every section in a few CPU minutes (2 seeds, tiny data; said in study.json)
    preset:str|None=arg(None, choices=('quick',))  # a named set of settings (quick = --quick)

    presets = {'quick': dict(seeds=2, train_seeds=2, n_train=100, n_test=20, epochs=2, channels=4, layers=3, hessian_every=2,
                             hessian_iters=3, train_channels=8, train_layers=3, train_epochs=2)}

    @classmethod
    def make(cls, *args, **kw):
        if kw.get('quick') and kw.get('preset') is None: kw['preset'] = 'quick'
        return super().make(*args, **kw)

    def check(self):
        super().check()
        if len(set(self.arms)) != len(self.arms): raise LTError(f"--arms lists an arm twice: {' '.join(self.arms)}")
        for a in self.arms: get_arm(a)
        if self.baseline not in self.arms:
            raise LTError(f"--baseline {self.baseline} is not among --arms ({' '.join(self.arms)}); add it or choose another baseline")
        if self.seeds < 2: raise LTError(f"--seeds {self.seeds}: a 95% interval and a paired test need at least 2 searches per arm; use 2 or more (3 by default)")
        for a in self.arms: self.search_config(a)   # every arm's search settings are valid

    def search_config(self, arm:str, seed:int|None=None, data=None, out=None)->DartsSearchConfig:
        "The validated `DartsSearchConfig` of one search of `arm` (on `data`, a (train, test) pair, if given)"
        a = get_arm(arm)
        kw = dict(data=self.data, imb_ratio=self.imb_ratio, profile=self.profile, root=self.root, download=self.download,
                  n_train=self.n_train, n_test=self.n_test, size=self.size, groups=self.groups) if data is None else dict(data=data, imb_ratio=1.)
        kw.update(mode=a.mode, epochs=self.epochs, channels=self.channels, layers=self.layers, batch_size=self.batch_size,
                  arch_lr=self.arch_lr, order=self.order, variant=self.variant, pc_k=self.pc_k, ops=tuple(self.ops),
                  hessian_every=self.hessian_every, hessian_iters=self.hessian_iters, seed=self.seed if seed is None else seed,
                  device=self.device, progress=False, logger=self.logger, resume=self.resume, out=out)
        kw.update(a.kw)
        try: return DartsSearchConfig.make(**kw).validate()
        except LTError as e: raise LTError(f"arm {arm}: {e}") from None''')
co('''_q = DartsStudyConfig.make(quick=True)
test_eq((_q.seeds, _q.epochs), (2, 2))
test_eq(DartsStudyConfig.make(quick=True, epochs=5).epochs, 5)       # a flag wins over the preset
test_eq(_q.search_config('bbn_hetero').arch_lr_schedule, 'mix_coupled')
test_fail(lambda: DartsStudyConfig.make(arms=('plain', 'bogus')).validate(), contains='unknown study arm')
test_fail(lambda: DartsStudyConfig.make(arms=('bbn',)).validate(), contains='--baseline plain is not among')
test_fail(lambda: DartsStudyConfig.make(seeds=1).validate(), contains='at least 2 searches')
test_fail(lambda: DartsStudyConfig.make(variant='pc_darts', channels=6).validate(), contains='not divisible by --pc-k')''')
md('''## The study

`darts_study` runs `seeds` searches of every arm on the same training set (search seed `seed + s`, which also draws the weight/architecture split), then trains each genotype `train_seeds` times with the seeds `seed + t`, the same for every arm. An arm's score for one search seed is the mean over its trainings; the arm's interval is over the search seeds, and its difference to the baseline is paired by search seed (a paired t-test, with the Wilcoxon p-value beside it). Every finished search and training is kept in `out/units.json`, so an interrupted study resumes where it stopped (and a search interrupted midway resumes from its own checkpoint). With `jobs=N` (`--jobs N`) the searches run side by side in N processes, each search followed by its trainings in the same process, and the torch threads are shared among them; every unit is seeded by itself, so the result is the same as one process gives (with one thread per process; other thread counts change the last bits of floating-point sums). On a CPU, N up to the number of cores divides the wall time, not the CPU time.

Each search also reports its convergence (`nas_lt.darts_diag`): the normal cell's mean edge entropy as a fraction of uniform (ln of the number of operations), the epoch from which its genotype no longer changes, skip connections in the genotype, the weight on parameter-free operations, the dominant Hessian eigenvalue w.r.t. α, and the search-time accuracy per shot group; and the collapse flags of Zela et al. (arXiv 1909.09656).''')
co('''#| export
STUDY_KEYS = METRIC_KEYS[1:]   # balanced accuracy, many, medium, few

def _search_unit(cfg, arm, s, data, out):
    "One search, reduced to what the study keeps"
    r = darts_search(cfg=cfg.search_config(arm, cfg.seed + s, data, out/'search'/arm/f'seed{cfg.seed + s}' if out is not None else None))
    d = r['diagnostics']
    return dict(genotype=r['genotype'], search_accuracy={k: r['search_accuracy'][k] for k in METRIC_KEYS},
                diagnostics=dict(normal={k: d['normal'][k] for k in ('epochs', 'entropy_ratio', 'max_alpha', 'param_free', 'stable_epoch', 'stable_last_quarter',
                                                                        'cell_stable_epoch', 'cell_stable_last_quarter')},
                                 collapse=d['collapse'], hessian=d['hessian'], shot_accuracy=d['shot_accuracy']),
                cpu_s=r['cpu_time_s'], wall_s=r['wall_time_s'])

def _convergence(searches:list)->dict:
    "An arm's convergence over its searches: final entropy ratio, stable genotypes, skips, collapse, eigenvalues"
    d = [s['diagnostics'] for s in searches]
    n, eig = len(d), [x['hessian'] for x in d if x['hessian']]
    return dict(entropy_ratio=mean_ci([x['normal']['entropy_ratio'][-1] for x in d]) if n > 1 else None,
                entropy_ratio_final=[x['normal']['entropy_ratio'][-1] for x in d],
                max_alpha_final=[x['normal']['max_alpha'][-1] for x in d],
                param_free_final=[x['normal']['param_free'][-1] for x in d],
                stable_epoch=[x['normal']['stable_epoch'] for x in d],
                stable_last_quarter=sum(bool(x['normal']['stable_last_quarter']) for x in d),
                normal_stable_epoch=[x['normal'].get('cell_stable_epoch') for x in d],     # None in units of studies before it was kept
                normal_stable_last_quarter=sum(bool(x['normal'].get('cell_stable_last_quarter')) for x in d),
                skips=[x['collapse']['skip_count'] for x in d], collapsed=sum(bool(x['collapse']['collapsed']) for x in d),
                eig_first=[e[0][1] for e in eig], eig_last=[e[-1][1] for e in eig], n=n)

def _unit_keys(cfg, arm, s):
    "The units of one search of `arm` (seed `seed + s`): the search, then its trainings"
    return [f'search/{arm}/seed{cfg.seed + s}'] + [f'train/{arm}/seed{cfg.seed + s}/t{t}' for t in range(cfg.train_seeds)]

def _train_unit(cfg, genotype, train, test, t, device):
    "Training `t` of a genotype: the same recipe and seed `seed + t` for every arm"
    return train_genotype(genotype, train, test, cfg.train_channels, cfg.train_layers, cfg.train_epochs, cfg.train_lr, cfg.train_batch,
                          seed=cfg.seed + t, device=device)

def _search_and_trainings(cfg, arm, s, out, done:dict)->dict:
    "In a worker process: the search of `arm` at seed `seed + s` and its trainings that are not in `done`, as {unit key: result}"
    train, test = cfg.load(); device = get_device(cfg.device)
    keys = _unit_keys(cfg, arm, s); r = dict(done)
    if keys[0] not in r: r[keys[0]] = _search_unit(cfg, arm, s, (train, test), out)
    for t, k in enumerate(keys[1:]):
        if k not in r: r[k] = _train_unit(cfg, r[keys[0]]['genotype'], train, test, t, device)
    return r

def _run_parallel(cfg, units, arms, out, say):
    "Compute the missing units in `cfg.jobs` processes (`run_parallel`), one search with its trainings per task"
    run_parallel(units, {f'[seed {cfg.seed + s}] {arm}': (_search_and_trainings, dict(
                             cfg=cfg, arm=arm, s=s, out=out, done={k: units.done[k] for k in _unit_keys(cfg, arm, s) if k in units}))
                         for s in range(cfg.seeds) for arm in arms if any(k not in units for k in _unit_keys(cfg, arm, s))}, cfg.jobs, say, each=True)

@takes(DartsStudyConfig, positional=())
def darts_study(cfg)->dict:
    "Run the DARTS long-tail study; returns the result that `out/study.json` holds (and `out/study.html` draws)"
    notes = []
    units = Units(cfg.out, cfg.resume, cfg.to_dict())
    device = get_device(cfg.device)
    say = (lambda *a: print(*a, flush=True)) if cfg.progress and is_main() else (lambda *a: None)
    out = Path(cfg.out) if cfg.out is not None else None
    if cfg.preset == 'quick':
        notes.append(f"quick preset: {cfg.seeds} searches of {cfg.epochs} epochs per arm on {cfg.n_train} images of the largest class; "
                     "a smoke test of every section, nothing here is a finding")
    C0, T0 = time.process_time(), time.perf_counter()
    with run_folder(out):
        if out is not None and is_main(): write_config(out, cfg)
        train, test = cfg.load()
        arms = list(cfg.arms)
        if cfg.jobs > 1 and is_main(): _run_parallel(cfg, units, arms, out, say)
        searches, trainings = {arm: [] for arm in arms}, {arm: [] for arm in arms}
        # seed by seed, so that an interrupted study has every arm at the seeds it finished (resume continues it)
        for s in range(cfg.seeds):
            for arm in arms:
                say(f"[seed {cfg.seed + s}] {arm}: search of {cfg.epochs} epochs on {len(train)} images, "
                    f"{cfg.train_seeds} trainings of {cfg.train_epochs} epochs")
                keys = _unit_keys(cfg, arm, s)
                searches[arm].append(units(keys[0], lambda: _search_unit(cfg, arm, s, (train, test), out)))
                trainings[arm].append([units(k, lambda t=t: _train_unit(cfg, searches[arm][s]['genotype'], train, test, t, device))
                                       for t, k in enumerate(keys[1:])])
        # an arm's score per search seed: the mean over that genotype's trainings
        score = {arm: {k: [float(np.mean([r[k] for r in row])) if None not in [r[k] for r in row] else None for row in trainings[arm]]
                       for k in METRIC_KEYS} for arm in arms}
        acc = {arm: {k: (mean_ci(v) if None not in v else None) for k, v in score[arm].items()} for arm in arms}
        paired = {}
        for arm in arms:
            if arm == cfg.baseline: continue
            paired[arm] = {k: (paired_diff(score[arm][k], score[cfg.baseline][k]) if None not in score[arm][k] + score[cfg.baseline][k] else None)
                           for k in METRIC_KEYS}
        missing = [k for k in STUDY_KEYS if acc[cfg.baseline][k] is None]
        if missing: notes.append(f"no {', '.join(missing)} scores: the training set has no classes in those shot groups")
        search_acc = {arm: {k: (mean_ci([s['search_accuracy'][k] for s in searches[arm]])
                                if None not in [s['search_accuracy'][k] for s in searches[arm]] else None) for k in METRIC_KEYS} for arm in arms}
        conv = {arm: _convergence(searches[arm]) for arm in arms}
        cost = {arm: dict(search_cpu_s=sum(s['cpu_s'] for s in searches[arm]), search_wall_s=sum(s['wall_s'] for s in searches[arm]),
                          train_cpu_s=sum(r['cpu_s'] for row in trainings[arm] for r in row),
                          train_wall_s=sum(r['wall_s'] for row in trainings[arm] for r in row)) for arm in arms}
        cost['total'] = dict(cpu_s=sum(c['search_cpu_s'] + c['train_cpu_s'] for c in cost.values()),
                             wall_s=sum(c['search_wall_s'] + c['train_wall_s'] for c in cost.values()))
        cost['this_process'] = dict(cpu_s=time.process_time() - C0, wall_s=time.perf_counter() - T0)
        res = dict(preset=cfg.preset or 'full', notes=notes, settings=cfg.to_dict(), baseline=cfg.baseline,
                   seeds=dict(search=[cfg.seed + s for s in range(cfg.seeds)], train=[cfg.seed + t for t in range(cfg.train_seeds)]),
                   data=dict(data=str(cfg.data), n_images=len(train), counts=train.counts, classes=train.n_classes, n_test=len(test)),
                   arms={arm: dict(description=get_arm(arm).description, mode=get_arm(arm).mode, settings=get_arm(arm).kw) for arm in arms},
                   accuracy=acc, scores=score, paired=paired, search_accuracy=search_acc, convergence=conv,
                   searches=searches, trainings=trainings, cost=cost)
        if out is not None and is_main():
            save_json(res, out/'study.json')
            write_report(out/'study.html', 'DARTS long-tail study', darts_study_parts(res))
    return res''')
md('''## Tables and figures''')
co('''#| export
def _ci(d, fmt='{:.3f}'):
    if d is None: return '–'
    v = d['mean'] if 'mean' in d else d['diff']
    return f"{fmt.format(v)} [{fmt.format(d['ci95'][0])}, {fmt.format(d['ci95'][1])}]"

def _short(k): return k.replace('_accuracy', '').replace('_shot', '')

def darts_study_tables(res:dict)->dict:
    "The study's tables as lists of rows (for `md_table` / `html_table`)"
    arms, b = list(res['accuracy']), res['baseline']
    acc = [dict(arm=a, **{_short(k): _ci(res['accuracy'][a][k]) for k in STUDY_KEYS}) for a in arms]
    diff = [dict(difference=f'{a} − {b}', **{_short(k): (f"{_ci(d, '{:+.3f}')} (p {d['p_value']:.2g})" if (d := res['paired'][a][k]) else '–')
                                              for k in STUDY_KEYS}) for a in res['paired']]
    conv = []
    for a in arms:
        c = res['convergence'][a]
        conv.append(dict(arm=a, entropy_ratio=', '.join(f'{x:.2f}' for x in c['entropy_ratio_final']),
                         stable_epoch=', '.join(str(x) for x in c['stable_epoch']), stable_last_quarter=f"{c['stable_last_quarter']}/{c['n']}",
                         normal_cell_stable=f"{c['normal_stable_last_quarter']}/{c['n']}" if None not in c['normal_stable_epoch'] else '–',
                         skips=', '.join(str(x) for x in c['skips']), param_free=', '.join(f'{x:.2f}' for x in c['param_free_final']),
                         eigenvalue=', '.join(f'{x:.2f}→{y:.2f}' for x, y in zip(c['eig_first'], c['eig_last'])) or '–',
                         collapsed=f"{c['collapsed']}/{c['n']}", search_balanced=_ci(res['search_accuracy'][a]['balanced_accuracy'])))
    cost = [dict(arm=a, **{k: v for k, v in res['cost'][a].items()}) for a in arms]
    return dict(accuracy=acc, differences=diff, convergence=conv, cost=cost)

def darts_study_summary(res:dict)->str:
    "The study's findings in a few lines: each arm's difference to the baseline, and how the searches converged"
    b, lines = res['baseline'], []
    m = res['accuracy'][b]['balanced_accuracy']
    lines.append(f"{b}: balanced accuracy {_ci(m)} over {len(res['seeds']['search'])} searches x {len(res['seeds']['train'])} trainings")
    for a, d in res['paired'].items():
        x = d['balanced_accuracy']
        if x: lines.append(f"{a} − {b}: {_ci(x, '{:+.3f}')} (paired t-test p = {x['p_value']:.2g}, n = {x['n']})")
    c = [res['convergence'][a] for a in res['accuracy']]
    ent = [x for cc in c for x in cc['entropy_ratio_final']]
    lines.append(f"convergence: final normal-cell entropy {min(ent):.2f}-{max(ent):.2f} of uniform; genotype stable over the last quarter in "
                 f"{sum(cc['stable_last_quarter'] for cc in c)}/{sum(cc['n'] for cc in c)} searches"
                 + (f" (normal cell alone: {sum(cc['normal_stable_last_quarter'] for cc in c)})" if all(None not in cc['normal_stable_epoch'] for cc in c) else '')
                 + f"; collapsed {sum(cc['collapsed'] for cc in c)}")
    return '\\n'.join(lines)''')
co('''#| export
_COLOURS = ['#4c78a8', '#f58518', '#54a24b', '#e45756', '#72b7b2', '#b279a2', '#ff9da6', '#9d755d']

def _err(d): return (d['mean'] if 'mean' in d else d['diff'], d['ci95'][1] - (d['mean'] if 'mean' in d else d['diff'])) if d else (None, None)

def plot_study_accuracy(res:dict):
    "Each arm's balanced and per-shot-group accuracy of its trained genotypes, mean and 95% interval over search seeds"
    fig = go.Figure()
    for i, a in enumerate(res['accuracy']):
        ys = [_err(res['accuracy'][a][k]) for k in STUDY_KEYS]
        fig.add_bar(name=a, x=[_short(k) for k in STUDY_KEYS], y=[y for y, _ in ys], marker_color=_COLOURS[i % 8],
                    error_y=dict(type='data', array=[e for _, e in ys]))
    fig.update_layout(barmode='group', height=340, yaxis_title='test accuracy', margin=dict(l=40, r=10, t=50, b=40),
                      title='trained genotypes: mean and 95% interval over search seeds')
    return fig

def plot_study_differences(res:dict):
    "Each arm minus the baseline, paired by search seed, with 95% intervals"
    fig = go.Figure()
    for i, a in enumerate(res['paired']):
        ys = [_err(res['paired'][a][k]) for k in STUDY_KEYS]
        fig.add_bar(name=f"{a} − {res['baseline']}", x=[_short(k) for k in STUDY_KEYS], y=[y for y, _ in ys],
                    marker_color=_COLOURS[(i + 1) % 8], error_y=dict(type='data', array=[e for _, e in ys]))
    fig.add_hline(y=0, line_color='#888')
    fig.update_layout(barmode='group', height=320, yaxis_title='difference in accuracy', margin=dict(l=40, r=10, t=50, b=40),
                      title=f"paired difference to {res['baseline']} (95% interval)")
    return fig

def plot_study_convergence(res:dict, height:int=560):
    "Every search's normal-cell entropy / ln(ops), parameter-free weight, Hessian eigenvalue and search-time few-shot accuracy over epochs"
    fig = make_subplots(rows=2, cols=2, subplot_titles=('normal cell: mean edge entropy / ln(ops)', 'normal cell: weight on parameter-free ops',
                                                        'dominant Hessian eigenvalue (alphas)', 'search-time few-shot accuracy'))
    for i, a in enumerate(res['accuracy']):
        for j, s in enumerate(res['searches'][a]):
            d, kw = s['diagnostics'], dict(line=dict(color=_COLOURS[i % 8], width=1.5), legendgroup=a, name=a, showlegend=j == 0)
            fig.add_scatter(x=d['normal']['epochs'], y=d['normal']['entropy_ratio'], row=1, col=1, **kw)
            fig.add_scatter(x=d['normal']['epochs'], y=d['normal']['param_free'], row=1, col=2, **{**kw, 'showlegend': False})
            if d['hessian']: fig.add_scatter(x=[e for e, _ in d['hessian']], y=[l for _, l in d['hessian']], row=2, col=1, **{**kw, 'showlegend': False})
            few = d['shot_accuracy'].get('few_shot') or []
            if any(v is not None for v in few): fig.add_scatter(x=list(range(1, len(few) + 1)), y=few, row=2, col=2, **{**kw, 'showlegend': False})
    fig.update_xaxes(title_text='epoch')
    fig.update_layout(height=height, margin=dict(l=40, r=10, t=60, b=40), title='convergence and collapse of every search (one line per seed)')
    return fig

def plot_study_cost(res:dict):
    "CPU seconds of each arm's searches and trainings"
    arms = list(res['accuracy'])
    fig = go.Figure([go.Bar(name='searches', x=arms, y=[res['cost'][a]['search_cpu_s'] for a in arms]),
                     go.Bar(name='genotype trainings', x=arms, y=[res['cost'][a]['train_cpu_s'] for a in arms])])
    fig.update_layout(barmode='stack', height=300, yaxis_title='CPU seconds', margin=dict(l=40, r=10, t=50, b=40), title='cost per arm')
    return fig

def darts_study_figures(res:dict)->list:
    "The figures of a study result: accuracy, differences to the baseline, convergence, cost"
    return [plot_study_accuracy(res), plot_study_differences(res), plot_study_convergence(res), plot_study_cost(res)]

def darts_study_parts(res:dict)->list:
    "The parts of study.html"
    t, f = darts_study_tables(res), darts_study_figures(res)
    notes = ''.join(f'<p><b>Note:</b> {n}</p>' for n in res['notes'])
    return [notes, '<pre>' + darts_study_summary(res) + '</pre>', '<h2>Accuracy of the trained genotypes</h2>', f[0], html_table(t['accuracy']),
            f'<h2>Difference to {res["baseline"]}</h2>', f[1], html_table(t['differences']),
            '<h2>Convergence and collapse</h2>', f[2], html_table(t['convergence']), '<h2>Cost</h2>', f[3], html_table(t['cost'], '{:.1f}')]''')
md('''### A tiny study

The quick preset made smaller still (three arms, 20 images of the largest class at ratio 10, 2 search epochs) so that this page runs in seconds; its numbers are a check of the machinery, not a result.''')
co('''import tempfile
_st = Path(tempfile.mkdtemp())/'study'
_kw = dict(quick=True, arms=('plain', 'reweight', 'bbn_hetero'), n_train=20, n_test=10, imb_ratio=10., epochs=2, channels=4, layers=3,
           train_channels=4, train_layers=3, train_epochs=1, hessian_iters=2, out=_st, progress=False)
_res = darts_study(**_kw)
_t = darts_study_tables(_res)
print(md_table(_t['accuracy'])); print(); print(md_table(_t['differences'])); print(); print(md_table(_t['convergence']))
print(); print(darts_study_summary(_res))''')
co('''test_eq(set(_res['accuracy']), {'plain', 'reweight', 'bbn_hetero'})
test_eq(set(_res['paired']), {'reweight', 'bbn_hetero'})
test_eq(len(_res['trainings']['plain']), 2); test_eq(len(_res['trainings']['plain'][0]), 2)
test_eq(_res['seeds'], dict(search=[0, 1], train=[0, 1]))
assert (_st/'study.json').is_file() and (_st/'study.html').is_file() and (_st/'search'/'bbn_hetero'/'seed1'/'genotype.json').is_file()
# stability is counted for the whole genotype and for the normal cell alone, which settles no later than the genotype
for _c in _res['convergence'].values():
    assert all(n <= g for n, g in zip(_c['normal_stable_epoch'], _c['stable_epoch'])) and _c['normal_stable_last_quarter'] >= _c['stable_last_quarter']
# units kept by a study from before the normal cell's count was kept still resume: the count reads '–'
from nas_lt.darts_study import _convergence
_old = [dict(s, diagnostics=dict(s['diagnostics'], normal={k: v for k, v in s['diagnostics']['normal'].items() if not k.startswith('cell_')}))
        for s in _res['searches']['plain']]
test_eq(_convergence(_old)['normal_stable_epoch'], [None, None])
test_eq(darts_study_tables(dict(_res, convergence=dict(_res['convergence'], plain=_convergence(_old))))['convergence'][0]['normal_cell_stable'], '–')
# the paired difference is scipy's paired t-test on the per-seed scores
from scipy import stats
_a, _b = _res['scores']['reweight']['balanced_accuracy'], _res['scores']['plain']['balanced_accuracy']
if len(set(np.subtract(_a, _b))) > 1: test_close(_res['paired']['reweight']['balanced_accuracy']['p_value'], stats.ttest_rel(_a, _b).pvalue)''')
co('''from nas_lt.core import show
show(plot_study_differences(_res))
show(plot_study_convergence(_res, height=480))''')
md('''Resuming finds every unit done and recomputes nothing but the statistics:''')
co('''_units = [_st/'units.json', *sorted((_st/'search').rglob('log.jsonl'))]   # units.json is written each time a unit is computed
_mtimes = [f.stat().st_mtime_ns for f in _units]
_res2 = darts_study(**_kw, resume=True)
test_eq(_res2['scores'], _res['scores'])
test_eq([f.stat().st_mtime_ns for f in _units], _mtimes)   # no search and no training was run again''')
md('''With `jobs=2` the two searches of each arm run side by side (spawned processes), each with its trainings, and give the same study. The worker processes import the task from `nas_lt.darts_study`, so this page calls the library's `darts_study` (a function defined in a notebook can't be sent to a spawned process):''')
co('''import nas_lt.darts_study''')
co('''_res3 = nas_lt.darts_study.darts_study(**{**_kw, 'out': None}, jobs=2)
test_eq(_res3['scores'], _res['scores'])
test_eq([s['genotype'] for s in _res3['searches']['bbn_hetero']], [s['genotype'] for s in _res['searches']['bbn_hetero']])''')
md('''## From the command line

```sh
nas-lt darts study --out runs/darts_study            # the CPU-scale study (the defaults above)
nas-lt darts study --out runs/darts_quick --quick    # every section in a few CPU minutes
nas-lt darts study --data path/to/folder --out runs/folder_study   # an image folder (train/ and test/ or one folder split)
nas-lt darts study --arms plain bbn_hetero --seeds 5 --out runs/two_arms
nas-lt darts study --out runs/darts_study --jobs 2   # two searches side by side
```

The tutorial *DARTS+BBN on a CPU* runs the full study and reads its result.''')

build('nbs/26_darts_study.ipynb', C)
from split_imports import split; split('nbs/26_darts_study.ipynb')
