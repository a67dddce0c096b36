#pragma once

/// Umbrella header: everything a tao user needs.

#include "tao/atoms.hpp"
#include "tao/client.hpp"
#include "tao/connection.hpp"
#include "tao/connection_ref.hpp"
#include "tao/connection_stats.hpp"
#include "tao/handlers.hpp"
#include "tao/logging.hpp"
#include "tao/metrics.hpp"
#include "tao/option_flags.hpp"
#include "tao/options.hpp"
#include "tao/protocol/codec.hpp"
#include "tao/protocol/error.hpp"
#include "tao/protocol/heartbeat.hpp"
#include "tao/protocol/message.hpp"
#include "tao/protocol/payload.hpp"
#include "tao/protocol/registry.hpp"
#include "tao/server.hpp"
