/** INT8 support that needs no native code: the calibration cache (TensorRT's text format and inferrt's own). */
export {
  formatCalibrationCache, parseCalibrationCache, type CalibrationCache, type CalibrationCacheContents,
} from './calibration-cache.js';
export { readCalibrationCacheFile, tryReadCalibrationCacheFile, writeCalibrationCacheFile } from './calibration-cache-file.js';
export {
  CALIBRATION_CACHE_FORMAT_VERSION, KNOWN_CALIBRATION_ALGORITHMS, type CalibrationAlgorithm, type CalibrationCacheFormat,
} from './cache-header.js';
export { amaxOf, scaleOfAmax } from './scale-bits.js';
