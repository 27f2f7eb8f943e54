import os, json, argparse
os.environ.setdefault('NAS_LT_PROGRESS', '0')
import pytest, torch
from nas_lt.core import LTError, load_json
from nas_lt.cli_darts import register, search_kwargs, cmd_search, cmd_show, QUICK

TINY = ['--n-train', '8', '--n-test', '2', '--channels', '2', '--layers', '3', '--batch-size', '8', '--imb-ratio', '4']


def parser():
    p = argparse.ArgumentParser(prog='nas-lt')
    register(p.add_subparsers(dest='command'))
    return p


def run(argv):
    args = parser().parse_args(argv)
    return args.func(args)


def test_search_end_to_end(tmp_path, capsys):
    out = tmp_path / 'bbn'
    res = run(['darts', 'search', '--mode', 'bbn', '--arch-lr-schedule', 'mix_coupled', '--mix', 'linear',
               '--arch-step', 'bbn', '--epochs', '1', '--out', str(out), *TINY])
    assert (out / 'genotype.json').exists() and (out / 'metrics.json').exists() and (out / 'ckpt.pt').exists()
    m = load_json(out / 'metrics.json')
    assert m['flags']['mix'] == 'linear' and m['flags']['arch_step'] == 'bbn' and m['mode'] == 'bbn'
    assert 'balanced_accuracy' in capsys.readouterr().out
    # resume with the same flags: nothing left to do, same genotype
    res2 = run(['darts', 'search', '--mode', 'bbn', '--arch-lr-schedule', 'mix_coupled', '--mix', 'linear',
                '--arch-step', 'bbn', '--epochs', '1', '--out', str(out), '--resume', *TINY])
    assert res2['genotype'] == res['genotype']
    # resume with different flags
    with pytest.raises(LTError, match='different settings'):
        run(['darts', 'search', '--mode', 'plain', '--epochs', '1', '--out', str(out), '--resume', *TINY])
    # show the genotype, draw it
    g = run(['darts', 'show', str(out / 'genotype.json')])
    assert len(g.normal) == 8
    import nas_lt.darts
    if hasattr(nas_lt.darts, 'plot_cell'):
        html = tmp_path / 'cells.html'
        run(['darts', 'show', str(out / 'genotype.json'), '--html', str(html)])
        assert html.exists()


def test_bad_input(tmp_path):
    for argv, msg in ((['--order', '3'], '--order must be 1 or 2'), (['--mix', 'beta'], "unknown --mix 'beta'"),
                      (['--arch-lr-schedule', 'zigzag'], 'unknown --arch-lr-schedule'), (['--arch-step', 'x'], 'unknown --arch-step'),
                      (['--mode', 'bbn2'], 'unknown --mode'), (['--epochs', '0'], '--epochs must be > 0')):
        with pytest.raises(LTError, match=msg): run(['darts', 'search', '--out', str(tmp_path), *argv])
    bad = tmp_path / 'bad.json'; bad.write_text('{"normal": [["conv_9x9", 0]]}')
    with pytest.raises(LTError): run(['darts', 'show', str(bad)])
    bad.write_text('not json')
    with pytest.raises(LTError, match='not valid JSON'): run(['darts', 'show', str(bad)])


def test_quick_and_choices_from_registries():
    from nas_lt.schedules import SCHEDULES, MIXES
    k = search_kwargs(parser().parse_args(['darts', 'search', '--quick']))
    assert k['n_train'] == QUICK['n_train'] and k['C'] == QUICK['C']
    k = search_kwargs(parser().parse_args(['darts', 'search', '--quick', '--channels', '6']))
    assert k['C'] == 6
    help_text = parser()._subparsers._group_actions[0].choices['darts']._subparsers._group_actions[0].choices['search'].format_help()
    assert all(n in help_text for n in list(SCHEDULES) + list(MIXES))


def test_main_cli_if_available(tmp_path, capsys):
    cli = pytest.importorskip('nas_lt.cli')
    rc = cli.main(['darts', 'search', '--order', '3', '--out', str(tmp_path)])
    assert rc == 2
    assert capsys.readouterr().err.count('\n') == 1


def test_shared_data_flags():
    "`nas-lt darts search` takes the data flags of every command (add_data_args): --profile and --download too"
    k = search_kwargs(parser().parse_args(['darts', 'search', '--profile', 'step', '--download', '--root', '/tmp/c']))
    assert k['profile'] == 'step' and k['download'] is True and k['root'] == '/tmp/c' and k['imb_ratio'] == 100.
    with pytest.raises(SystemExit): parser().parse_args(['darts', 'search', '--profile', 'zigzag'])
