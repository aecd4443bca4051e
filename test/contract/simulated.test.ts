// The privcmd contract on the simulated host, under jest.
import './simulated-env';
