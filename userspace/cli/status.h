// `mmchaos status` and `mmchaos rollback`: what is attached on this host, and removing all of it
// (controller/rollback.h), from any shell; these print.
#pragma once

namespace mmchaos {

int StatusCommand(bool json);
int RollbackCommand();

}  // namespace mmchaos
