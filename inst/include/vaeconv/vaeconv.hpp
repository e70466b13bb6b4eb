// vaeconv: the C++ core (header-only, standard library and Armadillo only).
#pragma once

#include "activation.hpp"
#include "data.hpp"
#include "dense.hpp"
#include "diagnostics.hpp"
#include "engine.hpp"
#include "iwae.hpp"
#include "layout.hpp"
#include "linear.hpp"
#include "model.hpp"
#include "monitor.hpp"
#include "objective.hpp"
#include "optimizer.hpp"
#include "rng.hpp"
#include "vmath.hpp"
#include "trainer.hpp"
