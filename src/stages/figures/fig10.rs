//! Fig. 10: Fig. 9 for the other dataset (MNIST in the paper).

use super::fig9::{build, caption, params, reads};
use super::figure::{Def, Text};

pub(super) const DEF: Def = Def {
    id: "fig10",
    params: |t| params(t, &t.fig10_dataset),
    reads: |t, u| reads(t, u, &t.fig10_dataset),
    build: |inputs| build(inputs, "Fig. 10: the three systems over width (MNIST)"),
    text: |select| Text {
        title: "Fig. 10: node classifiers over width (MNIST)",
        caption: caption(select),
        claim: "As for Fashion-MNIST.",
    },
};
