//! A small builder for ONNX graphs: values are names, nodes are appended in order (so the
//! graph is topologically sorted by construction), constants are initializers. Every
//! helper here is one ONNX operator of opset [`OPSET`](super::OPSET) with its attributes
//! spelled once.

use super::proto::{
    attribute_type, data_type, AttributeProto, Dimension, DimensionValue, GraphProto, NodeProto,
    TensorProto, TensorShapeProto, TensorTypeProto, TypeProto, ValueInfoProto,
};

/// A value of the graph (a tensor flowing between nodes), by its name.
#[derive(Debug, Clone, PartialEq)]
pub struct V(String);

/// One dimension of a graph input or output: a size, or a name (`batch`) for a size the
/// caller chooses.
#[derive(Debug, Clone)]
pub enum Dim {
    Fixed(usize),
    Named(&'static str),
}

/// Element types of graph inputs and outputs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Elem {
    F32,
    F64,
    I64,
}

impl Elem {
    fn code(self) -> i32 {
        match self {
            Elem::F32 => data_type::FLOAT,
            Elem::F64 => data_type::DOUBLE,
            Elem::I64 => data_type::INT64,
        }
    }
}

/// A graph under construction.
#[derive(Debug, Default)]
pub struct Graph {
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
    inputs: Vec<ValueInfoProto>,
    outputs: Vec<ValueInfoProto>,
    next: usize,
}

pub fn attr_int(name: &str, i: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: attribute_type::INT,
        i,
        ..Default::default()
    }
}

pub fn attr_ints(name: &str, ints: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: attribute_type::INTS,
        ints: ints.to_vec(),
        ..Default::default()
    }
}

pub fn attr_string(name: &str, s: &str) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: attribute_type::STRING,
        s: s.as_bytes().to_vec(),
        ..Default::default()
    }
}

fn value_info(name: &str, elem: Elem, dims: &[Dim], doc: &str) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|d| Dimension {
            value: Some(match d {
                Dim::Fixed(n) => DimensionValue::DimValue(*n as i64),
                Dim::Named(s) => DimensionValue::DimParam((*s).into()),
            }),
        })
        .collect();
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            tensor_type: Some(TensorTypeProto {
                elem_type: elem.code(),
                shape: Some(TensorShapeProto { dim }),
            }),
        }),
        doc_string: doc.into(),
    }
}

impl Graph {
    fn fresh(&mut self, hint: &str) -> String {
        self.next += 1;
        format!("{hint}_{}", self.next)
    }

    /// Declares a graph input.
    pub fn input(&mut self, name: &str, elem: Elem, dims: &[Dim], doc: &str) -> V {
        self.inputs.push(value_info(name, elem, dims, doc));
        V(name.into())
    }

    /// Makes `value` a graph output named `name`.
    pub fn output(&mut self, value: &V, name: &str, elem: Elem, dims: &[Dim], doc: &str) {
        self.node("Identity", &[value], vec![], &[name]);
        self.outputs.push(value_info(name, elem, dims, doc));
    }

    fn node(&mut self, op: &str, inputs: &[&V], attribute: Vec<AttributeProto>, outputs: &[&str]) {
        let name = self.fresh(op);
        self.nodes.push(NodeProto {
            input: inputs.iter().map(|v| v.0.clone()).collect(),
            output: outputs.iter().map(|s| s.to_string()).collect(),
            name,
            op_type: op.into(),
            attribute,
            ..Default::default()
        });
    }

    /// Node `op` with one output.
    pub fn op(&mut self, op: &str, inputs: &[&V], attributes: Vec<AttributeProto>) -> V {
        self.op_n(op, inputs, attributes, 1).remove(0)
    }

    /// Node `op` with `n` outputs.
    pub fn op_n(
        &mut self,
        op: &str,
        inputs: &[&V],
        attributes: Vec<AttributeProto>,
        n: usize,
    ) -> Vec<V> {
        let outs: Vec<String> = (0..n).map(|_| self.fresh(&op.to_lowercase())).collect();
        let names: Vec<&str> = outs.iter().map(String::as_str).collect();
        self.node(op, inputs, attributes, &names);
        outs.into_iter().map(V).collect()
    }

    fn initializer(&mut self, hint: &str, dims: &[usize], data_type: i32, raw: Vec<u8>) -> V {
        let name = self.fresh(hint);
        self.initializers.push(TensorProto {
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type,
            name: name.clone(),
            raw_data: raw,
        });
        V(name)
    }

    /// A constant f64 tensor of shape `dims`, row-major.
    pub fn f64s(&mut self, dims: &[usize], data: &[f64]) -> V {
        debug_assert_eq!(dims.iter().product::<usize>(), data.len());
        let raw = data.iter().flat_map(|x| x.to_le_bytes()).collect();
        self.initializer("c", dims, data_type::DOUBLE, raw)
    }

    /// A constant f32 tensor of shape `dims`, row-major.
    pub fn f32s(&mut self, dims: &[usize], data: &[f32]) -> V {
        debug_assert_eq!(dims.iter().product::<usize>(), data.len());
        let raw = data.iter().flat_map(|x| x.to_le_bytes()).collect();
        self.initializer("w", dims, data_type::FLOAT, raw)
    }

    /// A constant i64 tensor of shape `dims`.
    pub fn i64s(&mut self, dims: &[usize], data: &[i64]) -> V {
        debug_assert_eq!(dims.iter().product::<usize>(), data.len());
        let raw = data.iter().flat_map(|x| x.to_le_bytes()).collect();
        self.initializer("i", dims, data_type::INT64, raw)
    }

    /// A scalar f64 constant.
    pub fn scalar(&mut self, x: f64) -> V {
        self.f64s(&[], &[x])
    }

    /// A scalar i64 constant.
    pub fn int(&mut self, x: i64) -> V {
        self.i64s(&[], &[x])
    }

    /// A 1-D i64 constant (axes, shapes, indices).
    pub fn ints(&mut self, xs: &[i64]) -> V {
        self.i64s(&[xs.len()], xs)
    }

    pub fn add(&mut self, a: &V, b: &V) -> V {
        self.op("Add", &[a, b], vec![])
    }
    pub fn sub(&mut self, a: &V, b: &V) -> V {
        self.op("Sub", &[a, b], vec![])
    }
    pub fn mul(&mut self, a: &V, b: &V) -> V {
        self.op("Mul", &[a, b], vec![])
    }
    pub fn div(&mut self, a: &V, b: &V) -> V {
        self.op("Div", &[a, b], vec![])
    }
    pub fn unary(&mut self, op: &str, a: &V) -> V {
        self.op(op, &[a], vec![])
    }
    pub fn matmul(&mut self, a: &V, b: &V) -> V {
        self.op("MatMul", &[a, b], vec![])
    }

    pub fn cast(&mut self, x: &V, to: Elem) -> V {
        self.op("Cast", &[x], vec![attr_int("to", i64::from(to.code()))])
    }

    pub fn bool_not(&mut self, x: &V) -> V {
        self.op("Not", &[x], vec![])
    }

    /// `x[start..end]` along `axis` (negative bounds count from the end, as in Python).
    pub fn slice(&mut self, x: &V, axis: i64, start: i64, end: i64) -> V {
        let starts = self.ints(&[start]);
        let ends = self.ints(&[end]);
        let axes = self.ints(&[axis]);
        self.op("Slice", &[x, &starts, &ends, &axes], vec![])
    }

    pub fn concat(&mut self, xs: &[&V], axis: i64) -> V {
        self.op("Concat", xs, vec![attr_int("axis", axis)])
    }

    pub fn unsqueeze(&mut self, x: &V, axes: &[i64]) -> V {
        let axes = self.ints(axes);
        self.op("Unsqueeze", &[x, &axes], vec![])
    }

    pub fn squeeze(&mut self, x: &V, axes: &[i64]) -> V {
        let axes = self.ints(axes);
        self.op("Squeeze", &[x, &axes], vec![])
    }

    pub fn transpose(&mut self, x: &V, perm: &[i64]) -> V {
        self.op("Transpose", &[x], vec![attr_ints("perm", perm)])
    }

    /// `x` reshaped (0 keeps that dimension, −1 infers one).
    pub fn reshape(&mut self, x: &V, shape: &[i64]) -> V {
        let shape = self.ints(shape);
        self.op("Reshape", &[x, &shape], vec![])
    }

    /// `x` gathered at constant `indices` along `axis`.
    pub fn gather(&mut self, x: &V, axis: i64, indices: &[i64]) -> V {
        let indices = self.ints(indices);
        self.op("Gather", &[x, &indices], vec![attr_int("axis", axis)])
    }

    /// `x` at index `i` along `axis`, that axis dropped.
    pub fn pick(&mut self, x: &V, axis: i64, i: i64) -> V {
        let i = self.int(i);
        self.op("Gather", &[x, &i], vec![attr_int("axis", axis)])
    }

    /// The sum over `axes`, kept as size-1 dimensions.
    pub fn sum(&mut self, x: &V, axes: &[i64]) -> V {
        let axes = self.ints(axes);
        self.op("ReduceSum", &[x, &axes], vec![attr_int("keepdims", 1)])
    }

    /// `x` sorted ascending along `axis`, which holds `n` values.
    pub fn sort(&mut self, x: &V, axis: i64, n: usize) -> V {
        let k = self.ints(&[n as i64]);
        let mut out = self.op_n(
            "TopK",
            &[x, &k],
            vec![
                attr_int("axis", axis),
                attr_int("largest", 0),
                attr_int("sorted", 1),
            ],
            2,
        );
        out.remove(0)
    }

    /// The median along `axis` (of `n` values), that axis dropped: the middle value, or the
    /// mean of the two middle ones, as gruf's ensembles take it.
    pub fn median(&mut self, x: &V, axis: i64, n: usize) -> V {
        let sorted = self.sort(x, axis, n);
        if n % 2 == 1 {
            return self.pick(&sorted, axis, (n / 2) as i64);
        }
        let a = self.pick(&sorted, axis, (n / 2 - 1) as i64);
        let b = self.pick(&sorted, axis, (n / 2) as i64);
        let s = self.add(&a, &b);
        let half = self.scalar(2.0);
        self.div(&s, &half)
    }

    /// `xs` stacked along a new last axis. (Along a new first axis, onnxruntime 1.15's
    /// shape inference refuses a `TopK` over it as shorter than its k.)
    pub fn stack_last(&mut self, xs: &[V]) -> V {
        let each: Vec<V> = xs.iter().map(|x| self.unsqueeze(x, &[-1])).collect();
        let refs: Vec<&V> = each.iter().collect();
        self.concat(&refs, -1)
    }

    /// `cond ? a : b`, elementwise.
    pub fn select(&mut self, cond: &V, a: &V, b: &V) -> V {
        self.op("Where", &[cond, a, b], vec![])
    }

    /// The finished graph.
    pub fn finish(self, name: &str, doc: &str) -> GraphProto {
        GraphProto {
            node: self.nodes,
            name: name.into(),
            initializer: self.initializers,
            doc_string: doc.into(),
            input: self.inputs,
            output: self.outputs,
        }
    }
}
