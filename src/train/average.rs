//! An exponential moving average of the weights (Polyak averaging), kept beside the trained
//! network when a run asks for one (`ansel train --ema DECAY`).
//!
//! Why: with two 256² crops a step, the gradient is noisy, and at a learning rate of 10⁻⁴ the
//! weights wander around the optimum they are moving towards, which costs quality until a
//! lower learning rate wins it back. An average over the last few thousand steps cancels
//! most of the wander without slowing the walk, so validation and export, which read the
//! average, need no low-rate tail to see where the run has got to.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::prelude::*;

use crate::model::Network;

/// Checks a decay setting (`TrainConfig::ema`, `ansel train --ema`): in `[0, 1)`, where 0 means
/// no average. The one rule both the library and the CLI apply.
pub fn check_decay(decay: f64) -> Result<f64, String> {
    if (0.0..1.0).contains(&decay) {
        Ok(decay)
    } else {
        Err(format!(
            "{decay} is not a decay in [0, 1) (e.g. 0.999; 0 keeps no average)"
        ))
    }
}

/// A running average `a ← decay·a + (1 − decay)·w` of a network's weights, updated after
/// every optimizer step.
#[derive(Debug, Clone)]
pub struct WeightAverage {
    decay: f64,
    network: Network,
}

impl WeightAverage {
    /// Starts the average at `network`'s weights (taken without their autodiff graph).
    /// `decay` in `(0, 1)`: about `1 / (1 − decay)` recent steps carry most of the weight.
    pub fn new(network: &Network, decay: f64) -> Self {
        Self::resume(network.valid(), decay)
    }

    /// Continues an average saved earlier (the weights of a checkpoint's average).
    pub fn resume(average: Network, decay: f64) -> Self {
        assert!(
            decay > 0.0 && decay < 1.0,
            "an average's decay is in (0, 1), not {decay}"
        );
        Self {
            decay,
            network: average,
        }
    }

    /// Moves the average one step towards `network`'s current weights.
    pub fn update(&mut self, network: &Network) {
        let mut current = Collect(Vec::new());
        network.valid().visit(&mut current);
        let mut blend = Blend {
            decay: self.decay,
            current: current.0.into_iter(),
        };
        self.network = self.network.clone().map(&mut blend);
        assert!(
            blend.current.next().is_none(),
            "the average and the network have the same parameters"
        );
    }

    /// The averaged weights.
    pub fn network(&self) -> &Network {
        &self.network
    }
}

/// Every float parameter of a module, flattened, in visiting order.
struct Collect(Vec<Tensor<1>>);

impl ModuleVisitor for Collect {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let t = param.val();
        let n = t.shape().num_elements();
        self.0.push(t.reshape([n]));
    }
}

/// Blends each float parameter with the next collected one (both modules are the same type,
/// so their parameters come in the same order).
struct Blend {
    decay: f64,
    current: std::vec::IntoIter<Tensor<1>>,
}

impl ModuleMapper for Blend {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let w = self
            .current
            .next()
            .expect("the network has as many parameters as its average");
        let decay = self.decay;
        param.map(|a| {
            let shape = a.shape();
            a.mul_scalar(decay) + w.reshape(shape).mul_scalar(1.0 - decay)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::NetworkConfig;

    /// Every float parameter of `network` set to `v`.
    fn filled(network: Network, v: f32) -> Network {
        struct Fill(f32);
        impl ModuleMapper for Fill {
            fn map_float<const D: usize>(&mut self, p: Param<Tensor<D>>) -> Param<Tensor<D>> {
                let v = self.0;
                p.map(|t| t.zeros_like().add_scalar(v))
            }
        }
        network.map(&mut Fill(v))
    }

    fn extremes(network: &Network) -> (f32, f32) {
        let mut c = Collect(Vec::new());
        network.visit(&mut c);
        let all = Tensor::cat(c.0, 0);
        (
            all.clone().min().into_scalar::<f32>(),
            all.max().into_scalar::<f32>(),
        )
    }

    #[test]
    fn the_average_moves_by_one_minus_decay_per_step() {
        let device = Device::flex();
        let config = NetworkConfig::new(4, 6);
        let start = filled(Network::new(config, &device), 1.0);
        let now = filled(Network::new(config, &device), 3.0);
        let mut average = WeightAverage::new(&start, 0.75);
        assert_eq!(extremes(average.network()), (1.0, 1.0));
        average.update(&now);
        // 0.75·1 + 0.25·3
        assert_eq!(extremes(average.network()), (1.5, 1.5));
        average.update(&now);
        // 0.75·1.5 + 0.25·3
        assert_eq!(extremes(average.network()), (1.875, 1.875));
    }

    #[test]
    fn an_average_of_an_autodiff_network_holds_plain_weights() {
        let device = Device::flex().autodiff();
        let network = Network::new(NetworkConfig::new(4, 6), &device);
        let mut average = WeightAverage::new(&network, 0.5);
        average.update(&network);
        // Nothing of the autodiff graph is kept, and an average of a network with itself is
        // that network, to the bit.
        let bytes = crate::model::weights_to_bytes(average.network()).unwrap();
        let plain = crate::model::weights_to_bytes(&network.valid()).unwrap();
        assert_eq!(bytes, plain);
    }
}
