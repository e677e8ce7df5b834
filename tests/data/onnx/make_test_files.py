#!/usr/bin/python3
"""Writes the hand-made ONNX files of tests/data/onnx/ and the expectations for the
libonnx-testdata corpus. Run with Debian's python3-onnx: /usr/bin/python3 make_test_files.py

Broken files each carry one defect; onnx_importer_test.cpp asserts on the error each gives.
testdata_expected.tsv lists, per libonnx-testdata model: nodes (recursive), parameters
(elements of initializers, sparse initializers and Constant-node tensors, recursively, string
tensors excluded), runtime inputs and outputs of the main graph.
"""
import glob
import os
import struct

import onnx
from onnx import TensorProto, helper

HERE = os.path.dirname(os.path.abspath(__file__))
TESTDATA = "/usr/share/libonnx-testdata/data"


def save(model, name):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(model.SerializeToString())


def model_of(graph, opset=13, ir=8):
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="brickyard-tests")
    m.ir_version = ir
    return m


def raw_tensor(name, dtype, dims, raw):
    t = TensorProto()
    t.name = name
    t.data_type = dtype
    t.dims.extend(dims)
    t.raw_data = raw
    return t


def one_add(init):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 4])
    node = helper.make_node("Add", ["x", init.name], ["y"], name="add0")
    return model_of(helper.make_graph([node], "g", [x], [y], [init]))


def broken_files():
    # raw_data shorter than the dims say: 10 floats for [4,4]
    save(one_add(raw_tensor("w", TensorProto.FLOAT, [4, 4], b"\0" * 40)), "short_raw_data.onnx")
    # dims of 2^40 elements with 16 bytes of data
    save(one_add(raw_tensor("w", TensorProto.FLOAT, [1 << 40], b"\0" * 16)), "absurd_dims.onnx")
    # data_type 99 does not exist
    save(one_add(raw_tensor("w", 99, [4, 4], b"\0" * 64)), "unknown_dtype.onnx")

    # external data: 256 bytes needed at offset 0 of a 100-byte file
    with open(os.path.join(HERE, "external_past_end.bin"), "wb") as f:
        f.write(b"\1" * 100)
    t = TensorProto()
    t.name = "w"
    t.data_type = TensorProto.FLOAT
    t.dims.extend([64])
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", "external_past_end.bin"), ("offset", "0"), ("length", "256")):
        e = t.external_data.add()
        e.key, e.value = k, v
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [64])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [64])
    g = helper.make_graph([helper.make_node("Add", ["x", "w"], ["y"])], "g", [x], [y], [t])
    save(model_of(g), "external_past_end.onnx")

    # external data that escapes the model's directory
    t2 = TensorProto()
    t2.CopyFrom(t)
    t2.external_data[0].value = "../../../../../../etc/hostname"
    del t2.external_data[2]
    g = helper.make_graph([helper.make_node("Add", ["x", "w"], ["y"])], "g", [x], [y], [t2])
    save(model_of(g), "external_escape.onnx")

    # valid external data: 64 floats 0..63 at offset 16 of external_ok.bin
    with open(os.path.join(HERE, "external_ok.bin"), "wb") as f:
        f.write(b"\xff" * 16 + struct.pack("<64f", *range(64)))
    t3 = TensorProto()
    t3.CopyFrom(t)
    t3.external_data[0].value = "external_ok.bin"
    t3.external_data[1].value = "16"
    g = helper.make_graph([helper.make_node("Add", ["x", "w"], ["y"])], "g", [x], [y], [t3])
    save(model_of(g), "external_ok.onnx")

    # two nodes feeding each other
    a = helper.make_node("Add", ["x", "b_out"], ["a_out"], name="cyc_a")
    b = helper.make_node("Relu", ["a_out"], ["b_out"], name="cyc_b")
    xi = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])
    yo = helper.make_tensor_value_info("a_out", TensorProto.FLOAT, [2])
    save(model_of(helper.make_graph([a, b], "cycle", [xi], [yo])), "cycle.onnx")

    # a Constant whose value tensor is short: the error must name the node
    c = helper.make_node("Constant", [], ["c"], name="const0",
                         value=raw_tensor("", TensorProto.FLOAT, [3, 3], b"\0" * 12))
    r = helper.make_node("Relu", ["c"], ["y"], name="relu0")
    yo = helper.make_tensor_value_info("y", TensorProto.FLOAT, [3, 3])
    save(model_of(helper.make_graph([c, r], "g", [], [yo])), "constant_short.onnx")


def features_file():
    """A valid model touching the less common corners: typed data fields, f16/bf16 in
    int32_data, strings, a sparse initializer, Constant value_floats, metadata, doc strings,
    symbolic dims and an If with subgraphs that read an outer value."""
    inits = [
        helper.make_tensor("f32_typed", TensorProto.FLOAT, [2, 2], [1.0, 2.0, 3.0, 4.0]),
        helper.make_tensor("f16_typed", TensorProto.FLOAT16, [3], [1.0, -2.0, 0.5]),
        helper.make_tensor("bf16_typed", TensorProto.BFLOAT16, [2], [1.0, -3.0]),
        helper.make_tensor("i64_typed", TensorProto.INT64, [3], [1, -2, 1 << 40]),
        helper.make_tensor("i8_typed", TensorProto.INT8, [2], [-5, 7]),
        helper.make_tensor("u64_typed", TensorProto.UINT64, [1], [1 << 63]),
        helper.make_tensor("f64_typed", TensorProto.DOUBLE, [2], [0.25, -1e300]),
        helper.make_tensor("bool_typed", TensorProto.BOOL, [3], [True, False, True]),
        helper.make_tensor("str_typed", TensorProto.STRING, [2], [b"hello", b"world"]),
        helper.make_tensor("f32_raw", TensorProto.FLOAT, [2], struct.pack("<2f", 5.0, 6.0), raw=True),
    ]
    inits[0].doc_string = "a typed float initializer"
    sparse = helper.make_sparse_tensor(
        helper.make_tensor("sparse_w", TensorProto.FLOAT, [2], [7.0, 8.0]),
        helper.make_tensor("sparse_idx", TensorProto.INT64, [2], [1, 5]),
        [2, 3])
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 2])
    cond = helper.make_tensor_value_info("cond", TensorProto.BOOL, [])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 2])
    y.doc_string = "the result"
    then_out = helper.make_tensor_value_info("then_y", TensorProto.FLOAT, None)
    else_out = helper.make_tensor_value_info("else_y", TensorProto.FLOAT, None)
    then_g = helper.make_graph([helper.make_node("Add", ["x", "f32_typed"], ["then_y"])], "then", [], [then_out])
    else_g = helper.make_graph(
        [helper.make_node("Constant", [], ["k"], value_floats=[0.5, 1.5]),
         helper.make_node("Mul", ["x", "k"], ["else_y"])], "else", [], [else_out])
    nodes = [
        helper.make_node("Constant", [], ["c_ints"], name="ints", value_ints=[1, 2, 3]),
        helper.make_node("If", ["cond"], ["y"], name="branch", then_branch=then_g, else_branch=else_g,
                         doc_string="pick a branch"),
        helper.make_node("MyCustomOp", ["x", "c_ints"], ["z"], name="custom", domain="com.example",
                         alpha=0.5, mode="fast", sizes=[1, 2], scales=[0.25, 4.0], names=["a", "b"],
                         weights=helper.make_tensor("wt", TensorProto.FLOAT, [1], [9.0])),
    ]
    z = helper.make_tensor_value_info("z", TensorProto.FLOAT, None)
    graph = helper.make_graph(nodes, "features", [x, cond], [y, z], inits, doc_string="graph doc")
    graph.sparse_initializer.extend([sparse])
    graph.value_info.extend([helper.make_tensor_value_info("c_ints", TensorProto.INT64, [3])])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("com.example", 1)],
                          producer_name="brickyard-tests", producer_version="1.0", doc_string="model doc")
    m.ir_version = 8
    m.model_version = 7
    m.domain = "org.brickyard"
    helper.set_model_props(m, {"author": "tests", "license": "MIT"})
    save(m, "features.onnx")


def walk(g, f):
    f(g)
    for n in g.node:
        for a in n.attribute:
            if a.type == onnx.AttributeProto.GRAPH:
                walk(a.g, f)
            elif a.type == onnx.AttributeProto.GRAPHS:
                for sg in a.graphs:
                    walk(sg, f)


def numel(dims):
    n = 1
    for d in dims:
        n *= d
    return n


def counts(model):
    nodes, params = 0, 0
    for_graph = []

    def visit(g):
        nonlocal nodes, params
        nodes += len(g.node)
        params += sum(numel(t.dims) for t in g.initializer if t.data_type != TensorProto.STRING)
        params += sum(numel(s.dims) for s in g.sparse_initializer)
        for n in g.node:
            if n.op_type != "Constant" or n.domain not in ("", "ai.onnx") or not n.output or not n.output[0]:
                continue
            for a in n.attribute:
                if a.name == "value" and a.t.data_type != TensorProto.STRING:
                    params += numel(a.t.dims)
                elif a.name == "sparse_value":
                    params += numel(a.sparse_tensor.dims)
                elif a.name in ("value_float", "value_int"):
                    params += 1
                elif a.name == "value_floats":
                    params += len(a.floats)
                elif a.name == "value_ints":
                    params += len(a.ints)
                else:
                    continue
                break
    walk(model.graph, visit)
    inits = {t.name for t in model.graph.initializer}
    inputs = sum(1 for i in model.graph.input if i.name not in inits)
    return nodes, params, inputs, len(model.graph.output)


def expectations():
    rows = []
    for path in sorted(glob.glob(TESTDATA + "/*/*/model.onnx")):
        m = onnx.load(path, load_external_data=False)
        rel = os.path.relpath(path, TESTDATA)
        rows.append("%s\t%d\t%d\t%d\t%d" % ((rel,) + counts(m)))
    with open(os.path.join(HERE, "testdata_expected.tsv"), "w") as f:
        f.write("# path\tnodes\tparameters\tinputs\toutputs   (written by make_test_files.py)\n")
        f.write("\n".join(rows) + "\n")


if __name__ == "__main__":
    broken_files()
    features_file()
    expectations()
