"The `nas-lt` command end to end: data, train (with resume), and one clear line for every kind of bad input."
import json, os, subprocess, sys
from pathlib import Path
import numpy as np
import pytest
from PIL import Image

from nas_lt.cli import main

def _folder(root:Path, classes=(('cat', 12), ('dog', 8), ('eel', 4)), test=True, size=20):
    rng = np.random.default_rng(0)
    for split in (['train', 'test'] if test else ['train']):
        for ci, (c, n) in enumerate(classes):
            d = root/split/c; d.mkdir(parents=True, exist_ok=True)
            for i in range(n if split == 'train' else 3):
                a = rng.integers(0, 60, (size, size, 3), dtype=np.uint8); a[..., ci] += 150
                Image.fromarray(a).save(d/f'{i}.png')
    return root

def _err(capsys, argv):
    rc = main(argv)
    err = capsys.readouterr().err
    return rc, err

def test_data_command(tmp_path, capsys):
    html = tmp_path/'counts.html'
    assert main(['data', '--data', 'synthetic', '--imb-ratio', '100', '--html', str(html)]) == 0
    out = capsys.readouterr().out
    assert 'many-shot' in out and 'few-shot' in out
    assert 'Plotly.newPlot' in html.read_text()

def test_train_on_a_folder_and_resume(tmp_path, capsys):
    root = _folder(tmp_path/'imgs')
    out = tmp_path/'run'
    argv = ['train', '--data', str(root), '--model', 'resnet20', '--loss', 'cb', '--epochs', '2', '--batch-size', '8', '--out', str(out)]
    assert main(argv) == 0
    m = json.loads((out/'metrics.json').read_text())
    for k in ('accuracy', 'balanced_accuracy', 'per_class_accuracy', 'many_shot', 'medium_shot', 'few_shot'):
        assert k in m, k
    assert len(m['per_class_accuracy']) == 3 and (out/'model.pt').exists()
    assert len(m['history']) == 2 and m['epochs'] == 2 and m['loss'] == 'cb'   # per-epoch history and the run's settings
    assert main(argv + ['--resume']) == 0                      # a finished run resumes to the same end
    capsys.readouterr()
    rc = main(argv[:-4] + ['--epochs', '3', '--batch-size', '8', '--out', str(out), '--resume'])
    err = capsys.readouterr().err
    assert rc == 2 and 'epochs=2 in the checkpoint, 3 now' in err   # changed settings are refused, not mixed

def test_killed_run_resumes_to_the_same_weights(tmp_path):
    "SIGKILL a CLI training run after its first checkpoint, resume it, and compare with an uninterrupted run"
    import signal, time, torch
    root = _folder(tmp_path/'imgs', classes=(('a', 40), ('b', 20), ('c', 8)))
    def argv(out): return [sys.executable, '-m', 'nas_lt.cli', 'train', '--data', str(root), '--model', 'resnet20',
                           '--epochs', '6', '--batch-size', '8', '--loss', 'drw', '--out', str(out)]
    env = {**os.environ, 'NAS_LT_PROGRESS': '0', 'OMP_NUM_THREADS': '1'}
    subprocess.run(argv(tmp_path/'full'), check=True, env=env, capture_output=True)
    p = subprocess.Popen(argv(tmp_path/'cut'), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ckpt, t0 = tmp_path/'cut'/'ckpt.pt', time.time()
    while not ckpt.exists() and time.time() - t0 < 120: time.sleep(0.05)
    p.send_signal(signal.SIGKILL); p.wait()
    assert ckpt.exists() and not (tmp_path/'cut'/'metrics.json').exists(), 'the run finished before it could be killed'
    subprocess.run(argv(tmp_path/'cut') + ['--resume'], check=True, env=env, capture_output=True)
    a = torch.load(tmp_path/'full'/'model.pt', weights_only=False)
    b = torch.load(tmp_path/'cut'/'model.pt', weights_only=False)
    a, b = (x.get('model', x) if isinstance(x, dict) else x.state_dict() for x in (a, b))
    assert a.keys() == b.keys()
    for k in a: assert torch.equal(a[k], b[k]), k

@pytest.mark.parametrize('argv,needle', [
    (['data', '--imb-ratio', '0.5'], 'ratio'),
    (['data', '--data', 'imagenet22k'], 'imagenet22k'),
    (['train', '--loss', 'nope', '--epochs', '1'], "unknown loss 'nope'"),
    (['train', '--sampler', 'nope', '--epochs', '1'], "unknown sampler 'nope'"),
    (['train', '--epochs', '0'], 'epochs'),
    (['data', '--data', 'cifar10', '--root', '/nonexistent/cifar'], 'download'),
    # every case below was a traceback or a silently wrong run once (issue 15's table); each must be one line, before any data
    (['train', '--device', 'tpu', '--epochs', '1'], "unknown device 'tpu'"),
    (['train', '--device', 'cuda:7', '--epochs', '1'], "cuda:7"),
    (['train', '--model', 'resnet99', '--data', './no/such/folder'], "unknown model 'resnet99'"),   # the name, not the folder: checked first
    (['train', '--schedule', 'zigzag'], "unknown schedule 'zigzag'"),
    (['train', '--loss', 'focal:gama=2'], "loss 'focal' takes no option(s) ['gama']"),
    (['train', '--imb-ratio', 'inf'], 'finite'),
    (['train', '--imb-ratio', '1e9'], 'use a ratio of at most 500'),
    (['train', '--imb-ratio', '1000'], 'use a ratio of at most 500'),
    (['data', '--imb-ratio', '100', '--n-train', '50'], 'use a ratio of at most 50'),
    (['train', '--n-train', '0'], '--n-train must be >= 1, got 0'),
    (['train', '--lr', '-0.1'], '--lr must be > 0'),
    (['train', '--out', '{file}'], 'is a file; give a folder'),
    (['train', '--out', '{file}/sub'], 'is a file, so the folder cannot be created'),
    (['train', '--out', '/proc/nas_lt_run'], 'is not writable'),
    (['supernet', 'train', '--out', '{file}'], 'is a file; give a folder'),
    (['darts', 'search', '--out', '{file}'], 'is a file; give a folder'),
    (['data', '--html', '{dir}'], 'is a folder; give a file name'),
    (['demo', '--parts', 'imbnas,warp'], "unknown --parts 'warp'"),
    (['train', '--epochs', 'ten'], "expected an integer, got 'ten'"),
])
def test_bad_input_is_one_line(argv, needle, capsys, tmp_path):
    (tmp_path/'afile.json').write_text('{}'); (tmp_path/'adir').mkdir()
    argv = [a.replace('{file}', str(tmp_path/'afile.json')).replace('{dir}', str(tmp_path/'adir')) for a in argv]
    try: rc = main(argv)
    except SystemExit as e: rc = e.code
    err = capsys.readouterr().err
    assert rc == 2
    assert needle in err, err
    assert err.count('\n') == 1 and 'Traceback' not in err

def test_bad_folders(tmp_path, capsys):
    rc, err = _err(capsys, ['data', '--data', str(tmp_path/'missing')])
    assert rc == 2 and 'missing' in err
    root = _folder(tmp_path/'empty_class')
    (root/'train'/'fox').mkdir()
    rc, err = _err(capsys, ['data', '--data', str(root)])
    assert rc == 2 and 'fox' in err
    root = _folder(tmp_path/'broken')
    (root/'train'/'cat'/'bad.png').write_bytes(b'not an image')
    rc, err = _err(capsys, ['data', '--data', str(root)])
    assert rc == 2 and 'bad.png' in err

def test_folder_with_too_few_images_for_the_ratio(tmp_path, capsys):
    "An image folder whose tail would get no image at --imb-ratio 10 is refused, not trained with empty classes"
    root = _folder(tmp_path/'imgs', classes=(('cat', 12), ('dog', 8), ('eel', 4)))
    rc, err = _err(capsys, ['train', '--data', str(root), '--imb-ratio', '20', '--epochs', '1', '--out', str(tmp_path/'r')])
    assert rc == 2 and 'leaves the smallest classes with no images (the largest has 12)' in err and err.count('\n') == 1
    assert not (tmp_path/'r'/'ckpt.pt').exists()


def test_console_script_exit_code(tmp_path):
    r = subprocess.run([sys.executable, '-m', 'nas_lt.cli', 'data', '--imb-ratio', '0'], capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.strip().startswith('nas-lt data: error:') and 'Traceback' not in r.stderr

def test_train_genotype_and_bbn(tmp_path, capsys):
    "`nas-lt train --genotype` trains a DARTS evaluation network, `--bbn` a Bilateral-Branch Network"
    from nas_lt.darts import DartsNetwork, save_genotype
    root = _folder(tmp_path/'imgs')
    g = save_genotype(DartsNetwork(C=4, n_classes=3, layers=3).genotype(), tmp_path/'genotype.json')
    base = ['train', '--data', str(root), '--epochs', '1', '--batch-size', '8']
    assert main(base + ['--genotype', str(g), '--channels', '4', '--layers', '3', '--out', str(tmp_path/'g')]) == 0
    assert json.loads((tmp_path/'g'/'metrics.json').read_text())['model'] == 'genotype'
    assert main(base + ['--bbn', '--out', str(tmp_path/'b')]) == 0
    assert len(json.loads((tmp_path/'b'/'metrics.json').read_text())['per_class_accuracy']) == 3
    rc, err = _err(capsys, base + ['--bbn', '--genotype', str(g), '--out', str(tmp_path/'x')])
    assert rc == 2 and 'alternatives' in err
    (tmp_path/'bad.json').write_text('{"normal": [["warp_drive", 0]]}')
    rc, err = _err(capsys, base + ['--genotype', str(tmp_path/'bad.json'), '--out', str(tmp_path/'y')])
    assert rc == 2 and err.count('\n') == 1
