// @skingan/core declares tfjs-node and tfjs-node-gpu as *optional* peers (an application's choice).
// pnpm auto-installs a workspace project's optional peers as if they were required
// (pnpm/pnpm#11155), and their install scripts download libtensorflow, failing the whole install
// offline. In this workspace only, @skingan/cli's optionalDependency provides tfjs-node-gpu.
const NATIVE = ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'];

function readPackage(pkg) {
  if (pkg.name === '@skingan/core' && pkg.peerDependencies) {
    for (const name of NATIVE) {
      delete pkg.peerDependencies[name];
      if (pkg.peerDependenciesMeta) delete pkg.peerDependenciesMeta[name];
    }
  }
  return pkg;
}

module.exports = { hooks: { readPackage } };
