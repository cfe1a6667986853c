#!/usr/bin/env bash
# The fine-tune pair of RESULTS.md ("Order"): 300 steps from the shipped stage-1 checkpoint (runs/exact = ablation row e-s0),
# with (hn) and without (ctl) hard-negative captions, and with a learned time code on the frame tokens (tc, tc30);
# usage: bash ablation/order/finetune.sh hn --hard-negatives order,binding,motion
#        bash ablation/order/finetune.sh ctl
#        bash ablation/order/finetune.sh tc --time-code;  bash ablation/order/finetune.sh tc30 --time-code --time-code-lr 30
set -euo pipefail
cd "$(dirname "$0")/../.."
export OMP_WAIT_POLICY=PASSIVE
py=.venv/bin/python
name=$1; shift
out=runs/ft-$name
mkdir -p $out
$py -m hbi.train.train --recipe shipped --init-from runs/exact/best.pt --data .data/synthclips --out $out --steps 300 --lr 3e-4 --eval-every 150 --seed 0 --threads 1 --test "$@" > $out/train.log 2>&1
$py -m hbi.export.package --run $out --checkpoint best.pt --data .data/synthclips --out $out/package > $out/export.log 2>&1
$py -m hbi.eval.binding --data .data/synthclips --package $out/package --threads 1 --out $out/binding.json > $out/binding.log 2>&1
echo done > $out/DONE
