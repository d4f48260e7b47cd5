//! Statements of the paper that were considered for the claims table but cannot be
//! measured with this project's grid of networks, and why. The report lists them, so a
//! reader sees what the table leaves out.

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Unmeasured {
    pub cite: &'static str,
    pub statement: &'static str,
    pub why: &'static str,
}

pub const UNMEASURED: [Unmeasured; 12] = [
    Unmeasured {
        cite: "Sec. 2",
        statement: "The selective pattern appears in numerous ReLU networks of various architectures, trained with different algorithms on different tasks.",
        why: "the grid has two tasks, one architecture family (plain MLPs) and two optimisers; the claims check each of them, not the generalisation",
    },
    Unmeasured {
        cite: "Sec. 3.1",
        statement: "More depth does not degrade performance even with as many as 20 hidden layers.",
        why: "the grid's depth sweep stops at 10 hidden layers, as the paper's figures do; depth-does-not-degrade checks up to the grid's deepest network",
    },
    Unmeasured {
        cite: "Sec. 3.1",
        statement: "The trained networks perform comparably with prior results on MNIST and Fashion-MNIST for similar topologies.",
        why: "the paper gives no numbers for those prior results to compare with; the report lists every network's test error",
    },
    Unmeasured {
        cite: "Sec. 3.1",
        statement: "Drop-out and batch normalisation contribute little to test accuracy in this setting, unlike data augmentation.",
        why: "none of these is part of the paper's grid or of this project's",
    },
    Unmeasured {
        cite: "Sec. 3.2",
        statement: "Even a 20-node layer can represent more patterns than there are training samples.",
        why: "a counting fact (2^20 > 50,000), not a measurement",
    },
    Unmeasured {
        cite: "Sec. 3.2, 3.3",
        statement: "Wider networks represent sample information in a way more conducive to generalisation; a task-specific threshold of width and depth exists beyond which behaviour is regular.",
        why: "interpretations; the measurable parts (lower error and early perplexity with width, the size criterion of the late-layer claims) are rows of the table",
    },
    Unmeasured {
        cite: "Sec. 3.3",
        statement: "The deeper layers produce no new benefit and merely propagate the information forward.",
        why: "'no new benefit' would need ablations (removing layers) that are not in the grid; stays-low-after-transition and early-compression check the perplexity side",
    },
    Unmeasured {
        cite: "Sec. 4",
        statement: "The discrete and continuous systems arise from the form of the gradient-descent update.",
        why: "a derivation, not an empirical statement",
    },
    Unmeasured {
        cite: "Sec. 5.2",
        statement: "The FMNIST 6x100 network expresses the tendencies of all analysed models very well.",
        why: "qualitative; the claims are checked on every network of the sweeps rather than on the 6x100 alone",
    },
    Unmeasured {
        cite: "Sec. 5.2",
        statement: "In the earlier layers nodes range from very general (active for many samples) to very specific (active for one or two samples).",
        why: "not measured yet: it needs the number of train samples that activate each node, derivable from the analysis tables' per-class fractions and the class sizes, which this version does not do",
    },
    Unmeasured {
        cite: "Sec. 6",
        statement: "The trends hold, without qualitative inconsistencies, for several other optimisers, loss functions, output functions and data sets; batch normalisation and explicit training-data noise also raise perplexities.",
        why: "the grid has one SGD twin and one sigmoid/cross-entropy network, whose claims are rows of the table; the other alternatives are not trained",
    },
    Unmeasured {
        cite: "Sec. 7",
        statement: "Generalisation arises from the collaboration of the nodes' separate classifiers, and their consistency is crucial for accuracy.",
        why: "the paper's interpretation and the subject of its future work; no measurement is given",
    },
];
