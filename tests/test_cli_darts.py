"`nas-lt darts search | show` end to end, through `nas_lt.cli.main` as the console script runs it"
import os, json
os.environ.setdefault('NAS_LT_PROGRESS', '0')
import pytest, torch
from nas_lt.core import LTError, load_json
from nas_lt.cli import main, get_parser
from nas_lt.darts_bbn import DartsSearchConfig

TINY = ['--n-train', '8', '--n-test', '2', '--channels', '2', '--layers', '3', '--batch-size', '8', '--imb-ratio', '4', '--size', '8']


def run(capsys, argv):
    rc = main(argv)
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_search_end_to_end(tmp_path, capsys):
    out = tmp_path / 'bbn'
    argv = ['darts', 'search', '--mode', 'bbn', '--arch-lr-schedule', 'mix_coupled', '--mix', 'linear',
            '--arch-step', 'bbn', '--epochs', '1', '--out', str(out), *TINY]
    rc, o, _ = run(capsys, argv)
    assert rc == 0 and 'balanced_accuracy' in o
    for f in ('genotype.json', 'metrics.json', 'ckpt.pt', 'config.json', 'log.jsonl'): assert (out / f).exists(), f
    m = load_json(out / 'metrics.json')
    assert m['settings']['mix'] == 'linear' and m['settings']['arch_step'] == 'bbn' and m['mode'] == 'bbn'
    c = load_json(out / 'config.json')
    assert c['kind'] == 'DartsSearchConfig' and c['settings']['epochs'] == 1 and c['run']['command'].startswith('nas-lt darts search --mode bbn')
    rc, o, _ = run(capsys, argv + ['--resume'])                     # nothing left to do, same genotype
    assert rc == 0 and load_json(out / 'genotype.json') == m['genotype']
    rc, _, e = run(capsys, ['darts', 'search', '--mode', 'plain', '--epochs', '1', '--out', str(out), '--resume', *TINY])
    assert rc == 2 and 'cannot resume' in e and e.count('\n') == 1
    rc, o, _ = run(capsys, ['darts', 'show', str(out / 'genotype.json'), '--html', str(tmp_path / 'cells.html')])
    assert rc == 0 and 'normal=' in o and 'reduction cell' in (tmp_path / 'cells.html').read_text()


@pytest.mark.parametrize('argv,msg', [
    (['--order', '3'], 'unknown --order 3'), (['--mix', 'beta'], "unknown mix 'beta'"),
    (['--arch-lr-schedule', 'zigzag'], "unknown schedule 'zigzag'"), (['--arch-step', 'x'], "unknown architecture step 'x'"),
    (['--mode', 'bbn2'], "unknown search mode 'bbn2'"), (['--epochs', '0'], '--epochs must be >= 1, got 0'),
    (['--arch-lr', '-0.001'], '--arch-lr must be >= 0'), (['--w-lr', '0'], '--w-lr must be > 0'),
    (['--ops', 'none,warp_3x3'], "unknown op 'warp_3x3'"), (['--loss', 'hinge'], "unknown loss 'hinge'"),
    (['--sampler', 'oversample'], "unknown sampler 'oversample'"), (['--backend', 'cuda'], "unknown DARTS backend 'cuda'"),
    (['--preset', 'huge'], "unknown preset 'huge'"), (['--epochs', 'ten'], "expected an integer, got 'ten'"),
])
def test_bad_input_is_one_line(tmp_path, capsys, argv, msg):
    try: rc = main(['darts', 'search', '--out', str(tmp_path / 'x'), *argv])
    except SystemExit as e: rc = e.code
    err = capsys.readouterr().err
    assert rc == 2 and msg in err and err.count('\n') == 1 and 'Traceback' not in err, err
    assert not (tmp_path / 'x' / 'ckpt.pt').exists()


def test_show_bad_files(tmp_path, capsys):
    bad = tmp_path / 'bad.json'; bad.write_text('{"normal": [["conv_9x9", 0]]}')
    assert main(['darts', 'show', str(bad)]) == 2
    bad.write_text('not json')
    assert main(['darts', 'show', str(bad)]) == 2 and 'not valid JSON' in capsys.readouterr().err


def test_preset_and_help_from_registries():
    from nas_lt.schedules import SCHEDULES, MIXES
    from nas_lt.darts_bbn import SEARCH_MODES
    assert DartsSearchConfig.make(preset='quick').channels == 8
    assert DartsSearchConfig.make(preset='quick', channels=6).channels == 6
    p = get_parser()
    help_text = p._subparsers._group_actions[0].choices['darts']._subparsers._group_actions[0].choices['search'].format_help()
    assert all(n in help_text for n in list(SCHEDULES) + list(MIXES) + list(SEARCH_MODES))
    assert '[default: 0.025]' in help_text and '[default: plain]' in help_text


def test_shared_data_flags():
    "`nas-lt darts search` takes the data flags of every command"
    args = get_parser().parse_args(['darts', 'search', '--profile', 'step', '--download', '--root', '/tmp/c'])
    cfg = DartsSearchConfig.make(**{k: v for k, v in vars(args).items() if k in DartsSearchConfig.field_names()})
    assert cfg.profile == 'step' and cfg.download is True and cfg.root == '/tmp/c' and cfg.imb_ratio == 100.
    with pytest.raises(LTError, match="unknown --profile 'zigzag'"): DartsSearchConfig.make(profile='zigzag').validate()
