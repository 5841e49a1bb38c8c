// The launch API: start a VMM under verified seccomp filters in an optional jail.
export { launch, launchStack, LaunchError, type LaunchOptions, type LaunchHandle, type LaunchResult } from "./launch.js";
export {
  refuseBeforeStart, rewriteKillsToNotify, returnedActions, MAX_INSNS_PER_PATH,
  type FilterSource, type NamedProgram, type RefusalOptions,
} from "./filters.js";
export {
  validateJail, loadJailFile, jailFromEnv, mergeJail, jailArgs, JAIL_ENV,
  type JailOptions, type BindSpec, type IdMapEntry, type LandlockOptions, type DeviceName,
} from "./jail.js";
export {
  createCgroups, removeCgroups, cgroupV2Mount, cgroupV1Mount, numaNodes, parseMountinfo,
  type CgroupOptions, type CgroupPlacement,
} from "./cgroup.js";
export { prepareJailRoot, removeJailRoot, sanitiseId, type JailRootOptions, type PreparedJailRoot } from "./jailroot.js";
export {
  kmsgDiagnosis, formatCall, parseKmsgRecord, type DiagnoseMode, type Diagnosis, type BlockedCall,
} from "./diagnose.js";
export { launcherPath, requireLauncher } from "./binary.js";
