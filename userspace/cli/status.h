// `mmchaos status` and `mmchaos rollback`: what is attached on this host, and removing all of it,
// from any shell.
#pragma once

namespace mmchaos {

int StatusCommand(bool json);
int RollbackCommand();

}  // namespace mmchaos
