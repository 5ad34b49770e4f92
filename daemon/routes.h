// The socket API's routes (DESIGN.md §5).
#pragma once

#include "ipc/router.h"

namespace instaccess::daemon {

ipc::Router BuildRouter();

}  // namespace instaccess::daemon
