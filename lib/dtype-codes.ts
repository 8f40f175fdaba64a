/**
 * dtype codes shared with native/ir/dtype.h (static_asserts there pin them). A module of its own so that
 * dtype helpers can be used without loading the native addon.
 * @internal
 */
export const enum DTypeCode {
  Float32 = 0,
  Float16 = 1,
  Int8 = 2,
  UInt8 = 3,
  Int32 = 4,
  Int64 = 5,
  Bool = 6,
}
