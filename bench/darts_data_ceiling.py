"""How far can any network go on the DARTS study's data? (issue 14: the >= 60% goal for plain DARTS's genotype)

Trains, with the study's genotype recipe (`nas_lt.darts_study.train_genotype`: CE + DRW, cosine, crop + flip, 20 epochs,
lr 0.05, batch 64), DARTS's published CIFAR-10 genotype (DARTS V2, Liu et al. 2019) as the study's evaluation network, and
a ResNet-20 with the same recipe (`train_network`), on the study's embedded data at ratio 100 with 250 (the study), 500 and 1,000 images in the
head class. Prints one JSON row per run; CPU seconds are process CPU time.

    OMP_NUM_THREADS=1 python bench/darts_data_ceiling.py --n-train 250 500 1000 --seeds 0 1
"""
import argparse, json, torch
from nas_lt.darts import Genotype
from nas_lt.darts_study import DartsStudyConfig, train_genotype, train_network
from nas_lt.models import get_model

# DARTS (second order) genotype on CIFAR-10, Liu et al., "DARTS: Differentiable Architecture Search", ICLR 2019
DARTS_V2 = Genotype(
    normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1),
            ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5],
    reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0),
            ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])

if __name__ == '__main__':
    p = argparse.ArgumentParser()
    p.add_argument('--n-train', type=int, nargs='+', default=[250, 500, 1000])
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1])
    p.add_argument('--models', nargs='+', default=['darts_v2', 'resnet20'])
    a = p.parse_args()
    for n in a.n_train:
        train, test = DartsStudyConfig.make(n_train=n).load()
        for m in a.models:
            for s in a.seeds:
                if m == 'darts_v2': r = train_genotype(DARTS_V2, train, test, seed=s)
                else: torch.manual_seed(s); r = train_network(get_model(m, train.n_classes), train, test, seed=s)
                print(json.dumps(dict(model=m, n_train=n, images=len(train), seed=s, **r)), flush=True)
