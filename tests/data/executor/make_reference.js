// Reference outputs for tests/importers/executor_real_test.cpp, computed once with ONNX Runtime
// (an implementation independent of Brickyard's executor). Run from a scratch directory:
//   npm install --ignore-scripts onnxruntime-node@1.30.0
//   NODE_PATH=$PWD/node_modules node make_reference.js ~/.cache/brickyard/models > ort_reference.txt
// The inputs are rebuilt here exactly as the C++ test builds them.
const ort = require('onnxruntime-node');
const fs = require('fs');
const path = require('path');

const models = process.argv[2];
const here = __dirname;

function readNpy(file) {
    const b = fs.readFileSync(file);
    const headerLen = b.readUInt16LE(8);
    const header = b.slice(10, 10 + headerLen).toString('latin1');
    const data = b.slice(10 + headerLen);
    if (header.includes("'|u1'")) return new Uint8Array(data);
    if (header.includes("'<i2'")) return new Int16Array(data.buffer, data.byteOffset, data.length / 2);
    throw new Error('unexpected npy ' + header);
}

function clsInput() {
    const x = new Float32Array(3 * 48 * 192);
    for (let c = 0; c < 3; ++c)
        for (let h = 0; h < 48; ++h)
            for (let w = 0; w < 192; ++w)
                x[(c * 48 + h) * 192 + w] = Math.sin(0.11 * w + 0.7 * c) * Math.cos(0.23 * h) * 0.8;
    return new ort.Tensor('float32', x, [1, 3, 48, 192]);
}

function recInput() {
    const g = readNpy(path.join(here, 'text_brickyard_2024.npy'));
    const x = new Float32Array(3 * 48 * 320);
    for (let c = 0; c < 3; ++c)
        for (let i = 0; i < 48 * 320; ++i) x[c * 48 * 320 + i] = (g[i] / 255 - 0.5) / 0.5;
    return new ort.Tensor('float32', x, [1, 3, 48, 320]);
}

// The text image on a white 64x320 canvas (8 rows above and below), ImageNet-normalised.
function detInput() {
    const g = readNpy(path.join(here, 'text_brickyard_2024.npy'));
    const mean = [0.485, 0.456, 0.406], std = [0.229, 0.224, 0.225];
    const x = new Float32Array(3 * 64 * 320);
    for (let c = 0; c < 3; ++c)
        for (let h = 0; h < 64; ++h)
            for (let w = 0; w < 320; ++w) {
                const v = h >= 8 && h < 56 ? g[(h - 8) * 320 + w] : 255;
                x[(c * 64 + h) * 320 + w] = (v / 255 - mean[c]) / std[c];
            }
    return new ort.Tensor('float32', x, [1, 3, 64, 320]);
}

const fmt = (v) => Array.from(v, (x) => Number(x).toPrecision(9)).join(' ');

async function main() {
    const opts = { graphOptimizationLevel: 'disabled', intraOpNumThreads: 1 };
    {
        const s = await ort.InferenceSession.create(path.join(models, 'ch_ppocr_mobile_v2.0_cls_infer.onnx'), opts);
        const r = await s.run({ x: clsInput() });
        console.log('cls_probs ' + fmt(r[s.outputNames[0]].data));
    }
    {
        const s = await ort.InferenceSession.create(path.join(models, 'ch_PP-OCRv4_rec_infer.onnx'), opts);
        const r = await s.run({ x: recInput() });
        const y = r[s.outputNames[0]];
        const [, T, C] = y.dims;
        const arg = [], max = [];
        for (let t = 0; t < T; ++t) {
            let best = 0;
            for (let k = 1; k < C; ++k) if (y.data[t * C + k] > y.data[t * C + best]) best = k;
            arg.push(best);
            max.push(y.data[t * C + best]);
        }
        console.log('rec_dims ' + y.dims.join(' '));
        console.log('rec_argmax ' + arg.join(' '));
        console.log('rec_maxprob ' + fmt(max));
    }
    {
        const s = await ort.InferenceSession.create(path.join(models, 'ch_PP-OCRv4_det_infer.onnx'), opts);
        const r = await s.run({ x: detInput() });
        const y = r[s.outputNames[0]];
        // Means of 8x8 blocks: an 8x40 map of where the detector sees text.
        const blocks = [];
        for (let by = 0; by < 8; ++by)
            for (let bx = 0; bx < 40; ++bx) {
                let sum = 0;
                for (let i = 0; i < 8; ++i)
                    for (let j = 0; j < 8; ++j) sum += y.data[(by * 8 + i) * 320 + bx * 8 + j];
                blocks.push(sum / 64);
            }
        console.log('det_dims ' + y.dims.join(' '));
        console.log('det_blocks ' + fmt(blocks));
    }
    const audio = readNpy(path.join(here, 'speech_16k.npy'));
    for (const [key, file] of [['silero_op15', 'silero_vad_16k_op15.onnx'], ['silero_v5', 'silero_vad.onnx']]) {
        const s = await ort.InferenceSession.create(path.join(models, file), opts);
        let state = new ort.Tensor('float32', new Float32Array(2 * 128), [2, 1, 128]);
        const sr = new ort.Tensor('int64', BigInt64Array.from([16000n]), []);
        const probs = [];
        // Each window is the last 64 samples of the previous one followed by 512 new samples.
        const window = new Float32Array(576);
        for (let off = 0; off + 512 <= audio.length; off += 512) {
            window.copyWithin(0, 512, 576);
            for (let i = 0; i < 512; ++i) window[64 + i] = audio[off + i] / 32768;
            const r = await s.run({ input: new ort.Tensor('float32', window.slice(), [1, 576]), state, sr });
            probs.push(r.output.data[0]);
            state = r.stateN;
        }
        console.log(key + '_probs ' + fmt(probs));
    }
}
main().catch((e) => { console.error(e); process.exit(1); });
