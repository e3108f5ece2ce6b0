// Accurate-enough transcendental helpers shared by activation kernels (errors measured in tests).

// erf(x) via erfc with the Chebyshev-fitted exponent of Numerical Recipes' erfcc: fractional
// error < 1.2e-7 for all x, so gelu_erf stays within ~1e-7·|x| absolute.
fn erf_f32(x: f32) -> f32 {
  let z = abs(x);
  let t = 1.0 / (1.0 + 0.5 * z);
  let poly = -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
             t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
             t * (-0.82215223 + t * 0.17087277))))))));
  let erfc_z = t * exp(poly);
  return select(erfc_z - 1.0, 1.0 - erfc_z, x >= 0.0);
}

// tanh through exp(-2|u|): finite for every u (builtin tanh may overflow in exp on some drivers).
fn tanh_f32(u: f32) -> f32 {
  let t = exp(-2.0 * abs(u));
  return sign(u) * (1.0 - t) / (1.0 + t);
}

fn sigmoid_f32(x: f32) -> f32 {
  return 1.0 / (1.0 + exp(-x));
}
