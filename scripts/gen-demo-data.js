// Writes a small deterministic CIFAR-like tree: labels, a readme and a few hundred "images".
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = process.argv[2];
if (!root) throw new Error('usage: gen-demo-data.js DIR');
const classes = ['airplane', 'automobile', 'bird', 'cat', 'deer'];
let seed = 42;
const next = () => (seed = (seed * 1103515245 + 12345) >>> 0) & 0xff;
const labels = [];
for (const split of ['train', 'test']) {
  for (let i = 0; i < (split === 'train' ? 200 : 50); i++) {
    const label = classes[i % classes.length];
    const dir = join(root, split, label);
    mkdirSync(dir, { recursive: true });
    const image = Buffer.alloc(3072);
    for (let j = 0; j < image.length; j++) image[j] = next();
    writeFileSync(join(dir, `${i}.bin`), image);
    labels.push(`${split}/${label}/${i}.bin,${label}`);
  }
}
writeFileSync(join(root, 'labels.csv'), `path,label\n${labels.join('\n')}\n`);
writeFileSync(join(root, 'README.txt'), '32x32x3 random pixels standing in for CIFAR images\n');
