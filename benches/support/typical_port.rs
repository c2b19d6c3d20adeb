//! The reference the engine is measured against: a typical Rust port of
//! micrograd, written the way most ports are (and the way micrograd itself
//! is): each node keeps its children in a `Vec`, its op name as a `String`
//! and a boxed closure for its backward rule; backward builds the
//! topological order by recursion with a `HashSet` of visited nodes.
//!
//! Recursion (in the topological sort and in `Rc`'s own drop) means deep
//! graphs need a big stack: run it on a thread with one.

use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;

type BackwardFn = Box<dyn Fn(&Inner)>;

pub struct Inner {
    pub data: f64,
    pub grad: f64,
    prev: Vec<Value>,
    _op: String,
    backward: Option<BackwardFn>,
}

#[derive(Clone)]
pub struct Value(Rc<RefCell<Inner>>);

impl Value {
    pub fn new(data: f64) -> Value {
        Value::make(data, Vec::new(), "", None)
    }

    fn make(data: f64, prev: Vec<Value>, op: &str, backward: Option<BackwardFn>) -> Value {
        Value(Rc::new(RefCell::new(Inner {
            data,
            grad: 0.0,
            prev,
            _op: op.to_string(),
            backward,
        })))
    }

    pub fn data(&self) -> f64 {
        self.0.borrow().data
    }

    pub fn grad(&self) -> f64 {
        self.0.borrow().grad
    }

    pub fn add(&self, other: &Value) -> Value {
        let (a, b) = (self.clone(), other.clone());
        let backward: BackwardFn = Box::new(move |out: &Inner| {
            a.0.borrow_mut().grad += out.grad;
            b.0.borrow_mut().grad += out.grad;
        });
        Value::make(
            self.data() + other.data(),
            vec![self.clone(), other.clone()],
            "+",
            Some(backward),
        )
    }

    pub fn mul(&self, other: &Value) -> Value {
        let (a, b) = (self.clone(), other.clone());
        let backward: BackwardFn = Box::new(move |out: &Inner| {
            let (ad, bd) = (a.data(), b.data());
            a.0.borrow_mut().grad += bd * out.grad;
            b.0.borrow_mut().grad += ad * out.grad;
        });
        Value::make(
            self.data() * other.data(),
            vec![self.clone(), other.clone()],
            "*",
            Some(backward),
        )
    }

    pub fn max(&self, other: &Value) -> Value {
        let (a, b) = (self.clone(), other.clone());
        let left = self.data() > other.data();
        let backward: BackwardFn = Box::new(move |out: &Inner| {
            let winner = if left { &a } else { &b };
            winner.0.borrow_mut().grad += out.grad;
        });
        let data = if left { self.data() } else { other.data() };
        Value::make(
            data,
            vec![self.clone(), other.clone()],
            "max",
            Some(backward),
        )
    }

    pub fn ln(&self) -> Value {
        let a = self.clone();
        let backward: BackwardFn = Box::new(move |out: &Inner| {
            let ad = a.data();
            a.0.borrow_mut().grad += out.grad / ad;
        });
        Value::make(self.data().ln(), vec![self.clone()], "log", Some(backward))
    }

    pub fn backward(&self) {
        fn build_topo(
            v: &Value,
            visited: &mut HashSet<*const RefCell<Inner>>,
            topo: &mut Vec<Value>,
        ) {
            if visited.insert(Rc::as_ptr(&v.0)) {
                for child in &v.0.borrow().prev {
                    build_topo(child, visited, topo);
                }
                topo.push(v.clone());
            }
        }
        let mut topo = Vec::new();
        build_topo(self, &mut HashSet::new(), &mut topo);
        self.0.borrow_mut().grad = 1.0;
        for v in topo.iter().rev() {
            let node = v.0.borrow();
            if let Some(backward) = &node.backward {
                backward(&node);
            }
        }
    }
}
