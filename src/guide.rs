//! The guide: the lecture's path through backpropagation, chapter by
//! chapter, with every code block compiled and run as a test.
//!
//! The same path runs as evcxr notebooks in `docs/notebooks/`, with the
//! pictures inline. Each chapter gives the lecture's Korean term beside the
//! English one.
//!
//! 1. [Computational graphs and gates](ch01_computational_graphs) (계산 그래프)
//! 2. [The chain rule and backpropagation](ch02_backpropagation) (오차역전파법)
//! 3. [Score functions and losses](ch03_score_and_loss) (점수 함수와 손실 함수)
//! 4. [Probability, likelihood and Bayes](ch04_probability) (확률, 가능도, 베이즈 정리)
//! 5. [Gradient descent](ch05_gradient_descent) (경사 하강법)
//! 6. [Neural networks](ch06_networks) (신경망)
//! 7. [Handwritten digits](ch07_mnist) (손글씨 숫자 인식)
//! 8. [Record once, replay](ch08_record_and_replay) (정적 그래프와 동적 그래프)
//! 9. [Moving on: PyTorch and candle](ch09_moving_on) (다음 단계로)

#[doc = include_str!("../docs/guide/01-computational-graphs.md")]
pub mod ch01_computational_graphs {}

#[doc = include_str!("../docs/guide/02-backpropagation.md")]
pub mod ch02_backpropagation {}

#[doc = include_str!("../docs/guide/03-score-and-loss.md")]
pub mod ch03_score_and_loss {}

#[doc = include_str!("../docs/guide/04-probability.md")]
pub mod ch04_probability {}

#[doc = include_str!("../docs/guide/05-gradient-descent.md")]
pub mod ch05_gradient_descent {}

#[doc = include_str!("../docs/guide/06-networks.md")]
pub mod ch06_networks {}

#[doc = include_str!("../docs/guide/07-mnist.md")]
pub mod ch07_mnist {}

#[doc = include_str!("../docs/guide/08-record-and-replay.md")]
pub mod ch08_record_and_replay {}

#[doc = include_str!("../docs/guide/09-moving-on.md")]
pub mod ch09_moving_on {}
