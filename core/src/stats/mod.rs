pub mod moments; pub mod sketch; pub mod sensitivity;
